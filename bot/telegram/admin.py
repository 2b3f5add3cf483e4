"""What allow-listed admins (`KILDE_TELEGRAM_ADMIN_IDS`) do from Telegram: add an article by sending a link or a
document, list the articles page by page (`/articles`, for everyone allowed), remove one after a confirmation.

The conversion, saving and indexing are `retrieval.indexer`'s (`add_url`, `add_file`, `remove_article`,
`list_articles`); here only who may, what is downloaded, and what the chat is told. A change runs in a worker
thread (it embeds), one at a time, and the answer service is reloaded afterwards so the next question sees it.
Each addition or removal edits one progress message to its outcome: "added: <title> (<id>)" or one reason.
A user who is not an admin gets one polite line, and a file they send is never downloaded.
"""

from __future__ import annotations

import asyncio
import logging
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import PurePath
from typing import Protocol

from telegram import Document, InlineKeyboardButton, InlineKeyboardMarkup, Message, Update
from telegram.constants import ChatType
from telegram.error import BadRequest, TelegramError

from bot.safe_text import safe_text
from bot.telegram.render import articles_page, text, ui_language
from bot.telegram.sending import describe, reply, retrying
from bot.telegram.state import BotData, KildeContext
from retrieval import indexer
from retrieval.errors import KildeError
from retrieval.secrets import redact
from retrieval.settings import Settings
from retrieval.types import DocumentInfo, Language

LOG = logging.getLogger("bot.telegram.app")
PAGE_SIZE = 10  # articles per /articles page
PAGE_PREFIX = "arts:"  # callback data: "arts:<page>"
REMOVE_PREFIX = "rm:"  # "rm:<token>" confirms a removal, "rmx:<token>" cancels it
CANCEL_PREFIX = "rmx:"
KEEP_PENDING = 100  # removals waiting for their confirmation, at most
DOWNLOAD_LIMIT = 20 * 1024 * 1024  # the Bot API's getFile serves files of at most 20 MB
LONE_URL = re.compile(r"https?://\S+", re.IGNORECASE)
READABLE = {".html", ".htm", ".pdf", ".docx", ".md", ".markdown", ".txt"}
SUFFIX_OF_MIME = {
    "text/html": ".html",
    "application/pdf": ".pdf",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx",
    "text/markdown": ".md",
    "text/x-markdown": ".md",
    "text/plain": ".txt",
}


class Changed(Protocol):
    """What an addition (`indexer.Added`) or a removal leaves: the article's id and title."""

    @property
    def doc_id(self) -> str: ...
    @property
    def title(self) -> str: ...


def is_admin(update: Update, settings: Settings) -> bool:
    """Admins are users (never a whole group): a group id in the list would let every member change articles."""
    user = update.effective_user
    return bool(user and user.id in settings.telegram.admin_ids)


def _language(update: Update) -> Language:
    return ui_language(update.effective_user.language_code if update.effective_user else None)


def _shown(value: str, limit: int = 120) -> str:
    line = safe_text(value, one_line=True)
    return line if len(line) <= limit else line[: limit - 1] + "…"


# -- adding -----------------------------------------------------------------------------------------------------


def document_name(document: Document) -> str:
    """The file's name as sent; one made from its MIME type when it came without a name or an extension."""
    name = PurePath(document.file_name or "").name
    if PurePath(name).suffix or not document.mime_type:
        return name or "document"
    suffix = SUFFIX_OF_MIME.get(document.mime_type.split(";")[0].strip().lower(), "")
    return f"{name or 'document'}{suffix}"


def document_addressed(message: Message, bot_id: int, username: str) -> bool:
    """A file in a private chat is for the bot; in a group only with /add or @bot in its caption, or as a reply."""
    if message.chat.type == ChatType.PRIVATE:
        return True
    caption = message.caption or ""
    if caption.lstrip().lower().startswith("/add") or re.search(
        rf"(?<!\w)@{re.escape(username)}\b", caption, re.IGNORECASE
    ):
        return True
    reply_to = message.reply_to_message
    return bool(reply_to and reply_to.from_user and reply_to.from_user.id == bot_id)


@dataclass(frozen=True)
class Failed:
    reason: str | None  # one line for the chat; None: a bug, told as "see the log"


async def _apply(state: BotData, work: Callable[[], Changed], what: str) -> Changed | Failed:
    """Run `work` in a worker thread (one change at a time), then reload the answer service; `work`'s result, or
    why it failed."""
    async with state.changes:
        try:
            outcome = await asyncio.to_thread(work)
        except KildeError as exc:
            return Failed(safe_text(redact(str(exc)), one_line=True))
        except OSError as exc:  # e.g. a read-only corpus folder: the admin can do something about it
            where = f": {exc.filename}" if exc.filename else ""
            return Failed(safe_text(f"{exc.strerror or type(exc).__name__}{where}", one_line=True))
        except Exception as exc:  # a bug, not the user's input: the log gets it, the chat one line
            LOG.error("%s failed: %s", what, describe(exc), exc_info=exc)
            return Failed(None)
        reload = getattr(state.service, "reload", None)
        if reload is not None:
            try:
                LOG.info("after %s: %s", what, await asyncio.to_thread(reload))
            except KildeError as exc:
                LOG.warning("after %s the answer service could not reload: %s", what, describe(exc))
    return outcome


def _outcome_line(outcome: Changed | Failed, done: str, failed: str, language: Language) -> str:
    if isinstance(outcome, Failed):
        return text(failed, language, reason=outcome.reason or text("failed_see_log", language))
    return text(done, language, title=_shown(outcome.title), id=_shown(outcome.doc_id))


async def _finish(progress: Message, line: str) -> None:
    try:
        await retrying(partial(progress.edit_text, line))
    except BadRequest as exc:  # the progress message is gone: say it anew
        LOG.warning("could not edit the progress message (%s)", describe(exc))
        await reply(progress, line, html=False, quote=False)


async def add_link(message: Message, update: Update, context: KildeContext, url: str) -> None:
    """Add the article at `url` (the caller checked the sender is an admin)."""
    state, language = context.bot_data, _language(update)
    progress = await reply(message, text("adding", language, name=_shown(url)), html=False)
    assert progress is not None  # a non-empty text always sends a message
    outcome = await _apply(
        state, partial(indexer.add_url, state.settings, url, embeddings=state.embeddings), f"adding {url}"
    )
    if not isinstance(outcome, Failed):
        LOG.info("admin %s added %s (%s) from a link", _user(update), outcome.title, outcome.doc_id)
    await _finish(progress, _outcome_line(outcome, "added", "not_added", language))


async def add_document(update: Update, context: KildeContext) -> None:
    """A document: an admin's becomes an article; anyone else's is refused without being downloaded."""
    message = update.message
    assert message and message.document
    if not document_addressed(message, context.bot.id, context.bot.username):
        return
    state, language, document = context.bot_data, _language(update), message.document
    if not is_admin(update, state.settings):
        await reply(message, text("admins_only", language), html=False)
        return
    name = document_name(document)
    suffix = PurePath(name).suffix.lower()
    if suffix not in READABLE:
        kind = f"{suffix} files" if suffix else (document.mime_type or "this file")
        reason = text("file_kind", language, kind=_shown(kind, 40))
        await reply(message, text("not_added", language, reason=reason), html=False)
        return
    if document.file_size and document.file_size > DOWNLOAD_LIMIT:
        await reply(
            message, text("not_added", language, reason=_too_big(document.file_size, language)), html=False
        )
        return
    progress = await reply(message, text("adding", language, name=_shown(name)), html=False)
    assert progress is not None  # a non-empty text always sends a message
    try:
        telegram_file = await retrying(document.get_file)
        if telegram_file.file_size and telegram_file.file_size > DOWNLOAD_LIMIT:
            reason = _too_big(telegram_file.file_size, language)
            await _finish(progress, text("not_added", language, reason=reason))
            return
        data = bytes(await retrying(partial(telegram_file.download_as_bytearray, read_timeout=60)))
    except TelegramError as exc:
        detail = text("download_failed", language, detail=_shown(redact(exc.message), 200))
        await _finish(progress, text("not_added", language, reason=detail))
        return
    outcome = await _apply(
        state,
        partial(indexer.add_file, state.settings, name, data, embeddings=state.embeddings),
        f"adding {name}",
    )
    if not isinstance(outcome, Failed):
        LOG.info("admin %s added %s (%s) from %s", _user(update), outcome.title, outcome.doc_id, name)
    await _finish(progress, _outcome_line(outcome, "added", "not_added", language))


def _too_big(size: int, language: Language) -> str:
    return text("file_too_big", language, size=size / 1024 / 1024, limit=DOWNLOAD_LIMIT // 1024 // 1024)


def _user(update: Update) -> str:
    return str(update.effective_user.id) if update.effective_user else "?"


async def add_command(update: Update, context: KildeContext) -> None:
    """/add URL (a document with /add in its caption reaches `add_document`)."""
    message = update.message
    assert message
    language = _language(update)
    if not is_admin(update, context.bot_data.settings):
        await reply(message, text("admins_only", language), html=False)
        return
    parts = (message.text or "").split(None, 1)
    url = parts[1].strip() if len(parts) > 1 else ""
    if not LONE_URL.fullmatch(url):
        await reply(message, text("add_usage", language), html=False)
        return
    await add_link(message, update, context, url)


# -- listing ----------------------------------------------------------------------------------------------------


def pager(page: int, total: int, language: Language) -> InlineKeyboardMarkup | None:
    pages = max(1, -(-total // PAGE_SIZE))
    if pages == 1:
        return None
    buttons = []
    if page > 0:
        buttons.append(InlineKeyboardButton("‹", callback_data=f"{PAGE_PREFIX}{page - 1}"))
    buttons.append(InlineKeyboardButton(f"{page + 1}/{pages}", callback_data=f"{PAGE_PREFIX}{page}"))
    if page < pages - 1:
        buttons.append(InlineKeyboardButton("›", callback_data=f"{PAGE_PREFIX}{page + 1}"))
    return InlineKeyboardMarkup([buttons])


async def _articles(settings: Settings) -> list[DocumentInfo]:
    return list(await asyncio.to_thread(indexer.list_articles, settings))


async def articles_command(update: Update, context: KildeContext) -> None:
    """/articles: the first page of the article list, with buttons for the others."""
    assert update.message
    language = _language(update)
    try:
        documents = await _articles(context.bot_data.settings)
    except KildeError as exc:
        await reply(update.message, safe_text(redact(str(exc)), one_line=True), html=False)
        return
    body = articles_page(documents, 0, language, PAGE_SIZE)
    await reply(update.message, body, html=False, keyboard=pager(0, len(documents), language))


async def articles_button(update: Update, context: KildeContext) -> None:
    """‹ / › under the article list: show that page in the same message."""
    query = update.callback_query
    assert query
    language = _language(update)
    data = (query.data or "")[len(PAGE_PREFIX) :]
    documents = await _articles(context.bot_data.settings)
    last_page = max(0, (len(documents) - 1) // PAGE_SIZE)
    page = min(int(data), last_page) if data.isdigit() else 0
    await query.answer()
    body = articles_page(documents, page, language, PAGE_SIZE)
    try:
        await retrying(
            partial(query.edit_message_text, body, reply_markup=pager(page, len(documents), language))
        )
    except BadRequest as exc:
        if "not modified" not in exc.message.lower():  # a click on the current page changes nothing
            raise


# -- removing ---------------------------------------------------------------------------------------------------


async def remove_command(update: Update, context: KildeContext) -> None:
    """/remove ID: ask for confirmation with a button (nothing is removed yet)."""
    message = update.message
    assert message
    state, language = context.bot_data, _language(update)
    if not is_admin(update, state.settings):
        await reply(message, text("admins_only", language), html=False)
        return
    parts = (message.text or "").split(None, 1)
    doc_id = parts[1].strip() if len(parts) > 1 else ""
    if not doc_id:
        await reply(message, text("remove_usage", language), html=False)
        return
    try:
        documents = await _articles(state.settings)
    except KildeError as exc:
        await reply(message, safe_text(redact(str(exc)), one_line=True), html=False)
        return
    found = next((d for d in documents if d.doc_id == doc_id), None)
    if found is None:
        await reply(message, text("no_such_article", language, id=_shown(doc_id, 80)), html=False)
        return
    token = secrets.token_urlsafe(8)  # callback data holds at most 64 bytes; an id may be longer
    state.pending_removals[token] = (found.doc_id, found.title)
    while len(state.pending_removals) > KEEP_PENDING:
        state.pending_removals.pop(next(iter(state.pending_removals)))
    keyboard = InlineKeyboardMarkup(
        [
            [
                InlineKeyboardButton(text("remove_yes", language), callback_data=f"{REMOVE_PREFIX}{token}"),
                InlineKeyboardButton(text("remove_no", language), callback_data=f"{CANCEL_PREFIX}{token}"),
            ]
        ]
    )
    question = text("remove_confirm", language, title=_shown(found.title), id=_shown(found.doc_id))
    await reply(message, question, html=False, keyboard=keyboard)


async def remove_button(update: Update, context: KildeContext) -> None:
    """The confirmation's Remove / Cancel buttons (only an admin's click counts)."""
    query = update.callback_query
    assert query
    state, language = context.bot_data, _language(update)
    if not is_admin(update, state.settings):
        await query.answer(text("admins_only", language), show_alert=True)
        return
    data = query.data or ""
    cancel = data.startswith(CANCEL_PREFIX)
    pending = state.pending_removals.pop(data[len(CANCEL_PREFIX if cancel else REMOVE_PREFIX) :], None)
    if pending is None:
        await query.answer(text("remove_expired", language), show_alert=True)
        return
    await query.answer()
    doc_id, title = pending
    names = {"title": _shown(title), "id": _shown(doc_id)}
    if cancel:
        await retrying(partial(query.edit_message_text, text("remove_cancelled", language, **names)))
        return
    await retrying(partial(query.edit_message_text, text("removing", language, **names)))
    outcome = await _apply(
        state,
        partial(_removed, state, doc_id),
        f"removing {doc_id}",
    )
    if not isinstance(outcome, Failed):
        LOG.info("admin %s removed %s (%s)", _user(update), outcome.title, outcome.doc_id)
    line = _outcome_line(outcome, "removed", "not_removed", language)
    await retrying(partial(query.edit_message_text, line))


@dataclass(frozen=True)
class _Removed:
    doc_id: str
    title: str


def _removed(state: BotData, doc_id: str) -> _Removed:
    title = indexer.remove_article(state.settings, doc_id, embeddings=state.embeddings)
    return _Removed(doc_id, title)
