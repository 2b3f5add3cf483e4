"""`kilde bot`: the Telegram front end. Renders the service's `Answer`s; never searches or cites by itself.

Updates of one chat are handled one after another (a per-chat lock in the update processor), different chats
at the same time; the blocking service runs in a worker thread. History and the sources of recent answers
live in a small SQLite file in the data directory, so follow-ups and "Sources" buttons survive a restart.
The bot token is a secret: it is redacted from every log record and never put into an error message.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import re
from concurrent.futures import ThreadPoolExecutor
from functools import partial
from typing import Any
from urllib.parse import urlsplit

from telegram import (
    Bot,
    BotCommand,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    LinkPreviewOptions,
    Message,
    MessageEntity,
    Update,
)
from telegram.constants import ChatType, ParseMode
from telegram.error import Forbidden, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    ApplicationHandlerStop,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    Defaults,
    MessageHandler,
    TypeHandler,
    filters,
)

from bot import logs
from bot.safe_text import safe_text
from bot.telegram import admin
from bot.telegram.chats import HISTORY_FILE, ChatStore, PerChatProcessor
from bot.telegram.liveness import Heartbeat, HeartbeatRequest, beat_forever, wait_for_bot_api
from bot.telegram.render import (
    BUTTON,
    SOURCES_PREFIX,
    TEXTS,
    answer_html,
    sources_html,
    split_message,
    start_html,
    text,
    ui_language,
)
from bot.telegram.sending import describe, reply, retrying, typing
from bot.telegram.state import BotData, KildeContext, context_types
from bot.telegram.streaming import MessageStreamer
from retrieval.errors import KildeError, UsageError
from retrieval.secrets import protect, redact
from retrieval.settings import Settings
from retrieval.types import Answer, AnswerService, Language

App = Application[Any, KildeContext, Any, Any, BotData, Any]

LOG = logging.getLogger(__name__)
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]  # no edited messages, channel posts, ...
ANSWER_THREADS = 32  # questions answered at the same time (each in a worker thread)
STREAM_EDIT_INTERVAL = 1.0  # seconds between edits of a streamed draft (Telegram allows about one a second)
# What `LiveService.reload` says when nothing changed.
UP_TO_DATE = "the index is up to date with the articles"
# The token's shape as @BotFather gives it (the bot's numeric id, a colon, a secret of url-safe characters):
# anything else is a typo, found here at once instead of after minutes of failing requests.
TOKEN_SHAPE = re.compile(r"[0-9]{1,20}:[A-Za-z0-9_-]{1,200}")


# -- settings and secrets ---------------------------------------------------------------------------------------


def check_settings(settings: Settings) -> str:
    """The bot token, or a one-line `UsageError` saying what is missing. Never echoes the token."""
    token = settings.telegram.token.get_secret_value().strip() if settings.telegram.token else ""
    if not token:
        raise UsageError("no Telegram bot token: set KILDE_TELEGRAM_TOKEN (ask @BotFather for one)")
    if not TOKEN_SHAPE.fullmatch(token):
        raise UsageError(
            "KILDE_TELEGRAM_TOKEN does not look like a bot token (expected the bot's number, a colon and "
            "letters, digits, _ or -, e.g. 123456:ABC-def; ask @BotFather)"
        )
    if not settings.telegram.open and not (settings.telegram.allowed_ids or settings.telegram.admin_ids):
        raise UsageError(
            "nobody may use the bot: set KILDE_TELEGRAM_ALLOWED_IDS (or KILDE_TELEGRAM_ADMIN_IDS) to user or chat ids, "
            "or KILDE_TELEGRAM_OPEN=true to answer anyone"
        )
    if not re.match(r"https?://", settings.telegram.api_url):
        raise UsageError("KILDE_TELEGRAM_API_URL must start with http:// or https://")
    return token


def file_url(api_url: str) -> str:
    """The file download url that goes with a Bot API url (".../bot" -> ".../file/bot")."""
    head, sep, tail = api_url.rpartition("/bot")
    return f"{head}/file/bot{tail}" if sep else api_url


# -- application ------------------------------------------------------------------------------------------------


def build_application(
    settings: Settings,
    service: AnswerService,
    *,
    rate_limiter: BaseRateLimiter[Any] | None = None,
    max_concurrent_updates: int = 256,
    embeddings: Any = None,
) -> App:
    """The bot, wired to `service`, with its handlers. Raises `UsageError` for a missing token or allow-list.
    `embeddings` (the service's embedder) is reused when admins add articles."""
    token = check_settings(settings)
    protect(token, "<token>")
    logs.hide_request_urls()
    store = ChatStore(settings.data_dir / HISTORY_FILE)
    application = (
        ApplicationBuilder()
        .token(token)
        .context_types(context_types(settings, service, store, embeddings))
        .base_url(settings.telegram.api_url)
        .base_file_url(file_url(settings.telegram.api_url))
        .rate_limiter(rate_limiter or AIORateLimiter(max_retries=3))
        .get_updates_request(HeartbeatRequest(_heartbeat(settings), connection_pool_size=1))
        .concurrent_updates(PerChatProcessor(max_concurrent_updates))
        .defaults(Defaults(link_preview_options=LinkPreviewOptions(is_disabled=True)))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    only_new = filters.UpdateType.MESSAGE  # edited messages and channel posts are ignored
    application.add_handler(TypeHandler(Update, gatekeeper), group=-1)
    application.add_handlers(
        [
            CommandHandler("start", start, filters=only_new),
            CommandHandler("help", help_command, filters=only_new),
            CommandHandler("new", new, filters=only_new),
            CommandHandler("sources", sources, filters=only_new),
            CommandHandler("reload", reload_command, filters=only_new),
            CommandHandler("ask", ask, filters=only_new),
            CommandHandler("articles", admin.articles_command, filters=only_new),
            CommandHandler("add", admin.add_command, filters=only_new),
            CommandHandler("remove", admin.remove_command, filters=only_new),
            # PTB hands a click without data (and without a game) to every pattern handler; this one, whose
            # pattern matches no data, takes it first so the others only ever see their own buttons.
            CallbackQueryHandler(unknown_button, pattern=lambda data: False),
            CallbackQueryHandler(sources_button, pattern=f"^{SOURCES_PREFIX}"),
            CallbackQueryHandler(admin.articles_button, pattern=f"^{admin.PAGE_PREFIX}"),
            CallbackQueryHandler(
                admin.remove_button, pattern=f"^({admin.REMOVE_PREFIX}|{admin.CANCEL_PREFIX})"
            ),
            # Anything else (an unknown button, a game): answered anyway, or the client shows it loading.
            CallbackQueryHandler(unknown_button),
            MessageHandler(only_new & filters.TEXT & ~filters.COMMAND, question),
            MessageHandler(only_new & filters.COMMAND, unknown_command),
            MessageHandler(only_new & filters.Document.ALL, admin.add_document),
            MessageHandler(only_new & ~filters.TEXT & ~filters.StatusUpdate.ALL, not_text),
        ]
    )
    application.add_error_handler(on_error)
    return application


def _heartbeat(settings: Settings) -> Heartbeat | None:
    return Heartbeat(settings.heartbeat_file) if settings.heartbeat_file else None


def webhook_options(settings: Settings) -> dict[str, Any]:
    """Arguments of `run_webhook` / `Updater.start_webhook` for `settings.telegram.webhook_url`."""
    url = settings.telegram.webhook_url or ""
    secret = settings.telegram.webhook_secret
    return {
        "listen": "0.0.0.0",  # noqa: S104 (inside a container, Telegram or a proxy must reach it)
        "port": settings.telegram.webhook_port,
        "url_path": urlsplit(url).path.strip("/"),
        "webhook_url": url,
        "secret_token": secret.get_secret_value() if secret else None,
        "allowed_updates": ALLOWED_UPDATES,
    }


def run_bot(settings: Settings, service: AnswerService, embeddings: Any = None) -> None:
    """Serve until interrupted: long polling, or a webhook when `telegram_webhook_url` is set.

    The bot's own lines (ready, stopped, refusals, admins' changes) are logged at INFO even when the command runs
    at WARNING (as the container does): a server says that it started. On a clean stop the heartbeat goes, so
    the health check fails at once instead of vouching for a stopped bot until the heartbeat is stale."""
    if settings.telegram.webhook_url and importlib.util.find_spec("tornado") is None:
        raise UsageError(
            "webhook mode needs python-telegram-bot[webhooks]; unset KILDE_TELEGRAM_WEBHOOK_URL to poll"
        )
    application = build_application(settings, service, embeddings=embeddings)
    own_log = logging.getLogger("bot.telegram")
    level = own_log.level
    if not own_log.isEnabledFor(logging.INFO):
        own_log.setLevel(logging.INFO)
    try:
        _serve(application, settings)
        LOG.info("bot stopped")
    finally:
        if settings.heartbeat_file:
            Heartbeat(settings.heartbeat_file).stop()
        own_log.setLevel(level)


def _serve(application: App, settings: Settings) -> None:
    if settings.heartbeat_file:  # a heartbeat from an earlier run must not vouch for this one
        with contextlib.suppress(OSError):
            settings.heartbeat_file.unlink()
    if settings.telegram.webhook_secret:
        protect(settings.telegram.webhook_secret.get_secret_value())
    asyncio.run(wait_for_bot_api(partial(_probe, settings), urlsplit(settings.telegram.api_url).netloc))
    # Should the API go away again between the probe and the start, PTB retries a few times by itself.
    if settings.telegram.webhook_url:
        application.run_webhook(**webhook_options(settings), bootstrap_retries=3)
    else:
        application.run_polling(allowed_updates=ALLOWED_UPDATES, bootstrap_retries=3)


async def _probe(settings: Settings) -> None:
    """Ask the Bot API who the bot is (raises `NetworkError` when it cannot be reached)."""
    bot = Bot(
        check_settings(settings),
        base_url=settings.telegram.api_url,
        base_file_url=file_url(settings.telegram.api_url),
    )
    try:
        await bot.initialize()
    finally:
        await bot.shutdown()


async def _post_init(application: App) -> None:
    # asyncio.to_thread's default pool has min(32, cores + 4) threads: with a language model taking seconds
    # per answer, a handful of slow chats would make every other chat wait for a free thread.
    pool = ThreadPoolExecutor(max_workers=ANSWER_THREADS, thread_name_prefix="kilde-answer")
    asyncio.get_running_loop().set_default_executor(pool)
    commands = {
        "en": [
            ("ask", "Ask a question"),
            ("sources", "Passages behind the last answer"),
            ("new", "Forget this conversation"),
            ("reload", "Re-read the articles now"),
            ("articles", "The articles and their ids"),
            ("help", "Help"),
        ],
        "da": [
            ("ask", "Stil et spørgsmål"),
            ("sources", "Passagerne bag det sidste svar"),
            ("new", "Glem samtalen"),
            ("reload", "Læs artiklerne igen nu"),
            ("articles", "Artiklerne og deres id'er"),
            ("help", "Hjælp"),
        ],
    }
    try:
        await application.bot.set_my_commands([BotCommand(*c) for c in commands["en"]])
        await application.bot.set_my_commands([BotCommand(*c) for c in commands["da"]], language_code="da")
    except TelegramError as exc:  # the command menu is a nicety; answering questions is not
        LOG.warning("could not set the command menu: %s", describe(exc))
    state = application.bot_data
    if state.settings.telegram.webhook_url and state.settings.heartbeat_file:
        state.heartbeat = asyncio.create_task(beat_forever(Heartbeat(state.settings.heartbeat_file)))
    LOG.info("bot @%s ready", application.bot.username)


async def _post_shutdown(application: App) -> None:
    state = application.bot_data
    if state.heartbeat is not None:
        state.heartbeat.cancel()
    if state.settings.heartbeat_file:
        Heartbeat(state.settings.heartbeat_file).stop()
    state.store.close()


def _language(update: Update) -> Language:
    return ui_language(update.effective_user.language_code if update.effective_user else None)


# -- who is talking to the bot ----------------------------------------------------------------------------------


def is_allowed(update: Update, settings: Settings) -> bool:
    if settings.telegram.open:
        return True
    allowed = set(settings.telegram.allowed_ids) | set(settings.telegram.admin_ids)
    user, chat = update.effective_user, update.effective_chat
    return bool((user and user.id in allowed) or (chat and chat.id in allowed))


def is_addressed(message: Message, bot_id: int, username: str) -> bool:
    """In a private chat always; in a group when @mentioned or when the message replies to the bot's.
    (Commands are handled apart: `/ask@this_bot` or a bare `/ask` reach the bot in any chat.)"""
    if message.chat.type == ChatType.PRIVATE:
        return True
    mentions = message.parse_entities([MessageEntity.MENTION, MessageEntity.TEXT_MENTION])
    for entity, value in mentions.items():
        if entity.type == MessageEntity.MENTION and value.lower() == f"@{username.lower()}":
            return True
        if entity.user is not None and entity.user.id == bot_id:
            return True
    reply = message.reply_to_message
    return bool(reply and reply.from_user and reply.from_user.id == bot_id)


def _wants_bot(message: Message, bot_id: int, username: str) -> bool:
    command = re.match(r"/\w+(@(\w+))?", message.text or "")
    if command:
        return command.group(2) is None or command.group(2).lower() == username.lower()
    return is_addressed(message, bot_id, username)


def _without_mention(value: str, username: str) -> str:
    return re.sub(rf"@{re.escape(username)}\b", " ", value, flags=re.IGNORECASE).strip()


async def gatekeeper(update: Update, context: KildeContext) -> None:
    """Runs before every handler: lets allowed users through; refuses others once per chat, politely."""
    state = context.bot_data
    if is_allowed(update, state.settings):
        return
    language, user, chat = _language(update), update.effective_user, update.effective_chat
    LOG.info("refused user %s in chat %s", user.id if user else "?", chat.id if chat else "?")
    if update.callback_query:
        await update.callback_query.answer(text("refused_short", language), show_alert=True)
    elif (
        update.message
        and chat
        and chat.id not in state.refused
        and _wants_bot(update.message, context.bot.id, context.bot.username)
    ):
        if len(state.refused) > 10_000:
            state.refused.clear()
        state.refused.add(chat.id)
        refusal = text("refused", language, user_id=user.id if user else "?")
        await reply(update.message, refusal, html=False)
    raise ApplicationHandlerStop


# -- answering -------------------------------------------------------------------------------------------------


def sources_markup(answer: Answer, answer_id: int) -> InlineKeyboardMarkup | None:
    if answer.refused or not answer.citations:
        return None
    button = InlineKeyboardButton(BUTTON[answer.language], callback_data=f"{SOURCES_PREFIX}{answer_id}")
    return InlineKeyboardMarkup([[button]])


async def answer_question(message: Message, context: KildeContext, question_text: str, language: Language) -> None:
    """Ask the service (in a worker thread, with this chat's history) and send the answer."""
    state = context.bot_data
    question_text = question_text.strip()
    if not question_text:
        await reply(message, text("empty", language), html=False)
        return
    limit = state.settings.max_question_chars
    if len(question_text) > limit:
        await reply(message, text("too_long", language, n=len(question_text), limit=limit), html=False)
        return
    history = state.store.history(message.chat_id, state.settings.history_turns)
    draft: Message | None = None  # created by the first streamed text: only a language model streams

    async def show_draft(draft_text: str) -> None:
        nonlocal draft
        if draft is None:
            draft = await message.reply_text(draft_text, do_quote=message.chat.type != ChatType.PRIVATE)
        else:
            await draft.edit_text(draft_text)

    async with typing(message):
        try:
            async with MessageStreamer(show_draft, interval=STREAM_EDIT_INTERVAL) as streamer:
                answer = await asyncio.to_thread(
                    state.service.answer, question_text, history, streamer.on_token
                )
        except KildeError as exc:  # a user error (e.g. an empty question): say so in one line
            await reply(message, safe_text(redact(str(exc)), one_line=True), html=False)
            return
    answer_id = state.store.remember(message.chat_id, answer, state.settings.history_turns)
    body, keyboard = answer_html(answer), sources_markup(answer, answer_id)
    if draft is not None and len(split_message(body, is_html=True)) == 1:
        final_draft = draft
        try:  # the last edit carries the formatting and the sources button
            await retrying(
                partial(final_draft.edit_text, body, parse_mode=ParseMode.HTML, reply_markup=keyboard)
            )
            return
        except TelegramError as exc:
            LOG.warning("could not finish the streamed answer in place (%s); sending it anew", describe(exc))
    if draft is not None:
        with contextlib.suppress(TelegramError):
            await draft.delete()
    await reply(message, body, keyboard=keyboard)


# -- handlers ---------------------------------------------------------------------------------------------------


async def start(update: Update, context: KildeContext) -> None:
    """/start: what the bot is and which articles it knows."""
    assert update.message
    documents = await asyncio.to_thread(context.bot_data.service.documents)
    await reply(update.message, start_html(documents, _language(update)))


async def help_command(update: Update, context: KildeContext) -> None:
    """/help: the commands."""
    assert update.message
    await reply(update.message, TEXTS["help"][_language(update)], html=False)


async def new(update: Update, context: KildeContext) -> None:
    """/new: forget this chat's history."""
    assert update.message
    context.bot_data.store.forget(update.message.chat_id)
    await reply(update.message, text("new", _language(update)), html=False)


async def sources(update: Update, context: KildeContext) -> None:
    """/sources: the quoted passages behind the last answer."""
    assert update.message
    stored = context.bot_data.store.answer(update.message.chat_id)
    if stored is None:
        await reply(update.message, text("no_answer_yet", _language(update)), html=False)
        return
    await reply(update.message, sources_html(stored.citations, stored.language))


async def reload_command(update: Update, context: KildeContext) -> None:
    """/reload: re-read the article files now (a live service also does it by itself before each answer)."""
    assert update.message
    language, service = _language(update), context.bot_data.service
    reload = getattr(service, "reload", None)
    if reload is None:
        await reply(update.message, text("reload_fixed", language), html=False)
        return
    try:
        line = await asyncio.to_thread(reload)  # blocking; the service serialises syncs with a lock
        count = len(await asyncio.to_thread(service.documents))
    except KildeError as exc:
        line, count = str(exc), -1
    LOG.info("/reload: %s", line)
    # The live service's line is English, for logs and terminals; the chat gets its own language, and the
    # line itself only where it explains a problem.
    if count >= 0 and line == UP_TO_DATE:
        answer = text("reload_current", language, n=count)
    elif count >= 0 and line.startswith("articles changed"):
        counts = re.search(r"(?P<added>\d+) added, (?P<updated>\d+) updated, (?P<deleted>\d+) deleted", line)
        changes = text("reload_counts", language, **counts.groupdict()) if counts else ""
        answer = text("reload_changed", language, n=count, changes=changes)
    else:
        answer = text("reload_problem", language, detail=safe_text(redact(line), one_line=True))
    await reply(update.message, answer, html=False)


async def ask(update: Update, context: KildeContext) -> None:
    """/ask QUESTION (also the way to ask in a group without mentioning the bot)."""
    assert update.message
    parts = (update.message.text or "").split(None, 1)
    question_text = _without_mention(parts[1], context.bot.username) if len(parts) > 1 else ""
    if not question_text:
        await reply(update.message, text("ask_usage", _language(update)), html=False)
        return
    await answer_question(update.message, context, question_text, _language(update))


async def question(update: Update, context: KildeContext) -> None:
    """A text message: a question in a private chat; in a group only when the bot is addressed."""
    message = update.message
    assert message
    if not is_addressed(message, context.bot.id, context.bot.username):
        return
    question_text = _without_mention(message.text or "", context.bot.username)
    if admin.LONE_URL.fullmatch(question_text):  # a link alone is an article to add, not a question
        if admin.is_admin(update, context.bot_data.settings):
            await admin.add_link(message, update, context, question_text)
        else:
            await reply(message, text("admins_only", _language(update)), html=False)
        return
    await answer_question(message, context, question_text, _language(update))


async def sources_button(update: Update, context: KildeContext) -> None:
    """The "Sources" button under an answer: acknowledge the click, then send that answer's passages."""
    query = update.callback_query
    assert query
    if update.effective_chat is None:  # a button under an inline message: there is no chat to answer in
        await query.answer(text("sources_gone", _language(update)))
        return
    data = query.data or ""
    answer_id = int(data[len(SOURCES_PREFIX) :]) if data[len(SOURCES_PREFIX) :].isdigit() else -1
    stored = context.bot_data.store.answer(update.effective_chat.id, answer_id)
    if stored is None:
        await query.answer(text("sources_gone", _language(update)))
        return
    await query.answer()
    body = sources_html(stored.citations, stored.language)
    if isinstance(query.message, Message):
        await reply(query.message, body, quote=True)  # under the answer the passages belong to
    else:  # the answer is too old to reply to
        for part in split_message(body):
            await retrying(
                partial(context.bot.send_message, update.effective_chat.id, part, parse_mode=ParseMode.HTML)
            )


async def unknown_button(update: Update, context: KildeContext) -> None:
    """A button the bot does not know (an old one, or one without data, as under an inline message): answer the
    click all the same, or the user's client shows it loading for a long while."""
    assert update.callback_query
    await update.callback_query.answer(text("button_unknown", _language(update)))


async def unknown_command(update: Update, context: KildeContext) -> None:
    assert update.message
    if update.message.chat.type == ChatType.PRIVATE:
        await reply(update.message, text("unknown_command", _language(update)), html=False)


async def not_text(update: Update, context: KildeContext) -> None:
    """Stickers, photos, voice, ...: in a private chat (or when replying to the bot) say text is needed."""
    message = update.message
    assert message
    if is_addressed(message, context.bot.id, context.bot.username):
        await reply(message, text("text_only", _language(update)), html=False)


async def on_error(update: object, context: KildeContext) -> None:
    """Log the failure (redacted) and tell the user something went wrong, without details."""
    if update is None and isinstance(context.error, TelegramError):  # polling: PTB retries by itself
        LOG.warning("fetching updates failed, retrying: %s", describe(context.error))
        return
    update_id = update.update_id if isinstance(update, Update) else None
    if isinstance(context.error, Forbidden):  # the user blocked the bot, or it was removed from the group
        LOG.info("update %s: cannot write to the chat: %s", update_id, describe(context.error))
        return
    LOG.error("update %s failed: %s", update_id, describe(context.error), exc_info=context.error)
    if isinstance(update, Update) and update.effective_chat:
        with contextlib.suppress(TelegramError):
            await context.bot.send_message(update.effective_chat.id, text("error", _language(update)))
