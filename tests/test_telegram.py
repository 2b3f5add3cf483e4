"""The Telegram bot end to end: the real python-telegram-bot application, long-polling a fake Bot API server
on 127.0.0.1, answering from a fake service."""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from html.parser import HTMLParser
from pathlib import Path

import pytest
from click.testing import CliRunner
from telegram import Update
from telegram.ext import TypeHandler

import bot.telegram.app as tg
import bot.telegram.sending as sending
from bot.cli.serve import bot_command
from bot.telegram.app import ALLOWED_UPDATES, App, build_application, check_settings
from bot.telegram.state import BotData, KildeContext
from retrieval.errors import UsageError
from retrieval.settings import Settings
from retrieval.types import Answer, Citation, DocumentInfo, Turn
from tests.fakes.telegram_server import FakeTelegramServer

TOKEN = "987654:AAE-secret_Token-xyz"
ALICE = 111  # allowed user (private chat id == user id)
BOB = 222  # allowed user
STRANGER = 333
GROUP = -100500  # allowed group (by chat id)
DOCS = [
    DocumentInfo("jobcamp-2018", "Jobcamp 2018: færre regler", "2018-05-01", "https://example.org/jobcamp"),
    DocumentInfo("kim", "Kim Them Serup, Vordingborg", "2019-02-03", None),
]


def cited_answer(question: str, text: str | None = None, language: str = "da") -> Answer:
    return Answer(
        question=question,
        text=text or f"Svar på «{question}» [1]. Mere om det [2].",
        refused=False,
        language=language,  # type: ignore[arg-type]
        citations=[
            Citation(1, "jobcamp-2018", "c1", "Jobcamp 2018: færre regler", "2018-05-01",
                     "https://example.org/jobcamp", "Jobcamp samlede 800 ledige."),
            Citation(2, "kim", "c2", "Kim Them Serup, Vordingborg", "2019-02-03", None,
                     "Kim er jobcenterchef."),
        ],
    )  # fmt: skip


class FakeService:
    """Canned answers; records (question, history); can hold a question until a test releases its gate."""

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.calls: list[tuple[str, list[Turn]]] = []
        self.replies: dict[str, Answer] = {}
        self.gates: dict[str, threading.Event] = {}
        self.error: Exception | None = None
        self._lock = threading.Lock()

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer:
        with self._lock:
            self.calls.append((question, list(history or [])))
        for key, gate in list(self.gates.items()):
            if key in question:
                gate.wait(10)
        if self.delay:
            time.sleep(self.delay)
        if self.error is not None:
            raise self.error
        return self.replies.get(question) or cited_answer(question)

    def documents(self) -> list[DocumentInfo]:
        return list(DOCS)

    def release(self) -> None:
        for gate in self.gates.values():
            gate.set()

    @property
    def questions(self) -> list[str]:
        return [q for q, _ in self.calls]


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending, "RETRY_DELAY", 0.01)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def service() -> Iterator[FakeService]:
    fake = FakeService()
    yield fake
    fake.release()  # never leave a worker thread waiting


@pytest.fixture
def settings(tmp_path: Path, server: FakeTelegramServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=server.api_url,
        telegram_allowed_ids=[ALICE, BOB, GROUP],
        history_turns=3,
    )


@asynccontextmanager
async def running(settings: Settings, service: FakeService) -> AsyncIterator[App]:
    app = build_application(settings, service)
    await app.initialize()
    assert app.updater is not None and app.post_init is not None
    await app.post_init(app)  # run_polling would call it
    await app.updater.start_polling(poll_interval=0, timeout=1, allowed_updates=ALLOWED_UPDATES)
    await app.start()
    try:
        yield app
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()


@pytest.fixture
async def app(settings: Settings, service: FakeService) -> AsyncIterator[App]:
    async with running(settings, service) as application:
        yield application


async def settle(app: App, server: FakeTelegramServer) -> None:
    """Wait until every pushed update was fetched and fully handled."""
    await server.wait_for(server.all_delivered, what="updates to be fetched")
    await asyncio.wait_for(app.update_queue.join(), 5)


class TagChecker(HTMLParser):
    """Collects tags and fails on unbalanced ones: what Telegram's HTML parser would reject."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.tags: set[str] = set()
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.stack.append(tag)
        self.tags.add(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}>"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text += data


def check_html(markup: str) -> TagChecker:
    checker = TagChecker()
    checker.feed(markup)
    checker.close()
    assert not checker.stack, f"unclosed {checker.stack}"
    assert checker.tags <= {"a", "b", "blockquote"}, checker.tags
    return checker


# -- answering --------------------------------------------------------------------------------------------------


async def test_question_is_answered_with_linked_citations_sources_and_button(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    service.delay = 0.1
    server.message(ALICE, "Hvad er Jobcamp?")
    [reply] = await server.wait_sent(ALICE)

    assert service.calls == [("Hvad er Jobcamp?", [])]
    assert reply.params["parse_mode"] == "HTML"
    assert reply.params["link_preview_options"] == {"is_disabled": True}
    assert '<a href="https://example.org/jobcamp">[1]</a>' in reply.text
    assert "Mere om det [2]." in reply.text  # no url: no link
    assert "<b>Kilder</b>" in reply.text
    assert "[1] Jobcamp 2018: færre regler · 2018-05-01 · " in reply.text
    assert "[2] Kim Them Serup, Vordingborg · 2019-02-03" in reply.text
    assert reply.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Kilder", "callback_data": "src:1"}]]
    }
    check_html(reply.text)
    typing = server.requests("sendChatAction")
    assert typing and typing[0].params == {"chat_id": ALICE, "action": "typing"}
    assert typing[0].at < reply.at
    assert [c.params.get("language_code") for c in server.requests("setMyCommands")] == [None, "da"]


async def test_sources_button_answers_the_click_then_sends_the_passages(
    app: App, server: FakeTelegramServer
) -> None:
    server.message(ALICE, "Hvad er Jobcamp?")
    [answer] = await server.wait_sent(ALICE)
    server.callback(ALICE, answer.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    sent = await server.wait_sent(ALICE, 2)

    [click] = server.requests("answerCallbackQuery")
    passages = sent[1]
    assert click.at < passages.at
    assert "<blockquote>Jobcamp samlede 800 ledige.</blockquote>" in passages.text
    assert "<blockquote>Kim er jobcenterchef.</blockquote>" in passages.text
    assert passages.params["reply_parameters"]["message_id"] == server.bot_messages(ALICE)[0]["message_id"]
    check_html(passages.text)


async def test_english_answer_gets_a_sources_button(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    service.replies["Who is Kim?"] = cited_answer("Who is Kim?", "Kim runs the job centre [2].", "en")
    server.message(ALICE, "Who is Kim?", language_code="en")
    [reply] = await server.wait_sent(ALICE)
    assert "<b>Sources</b>" in reply.text
    assert reply.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Sources"


async def test_refusal_has_no_sources_and_no_button(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    service.replies["Hvad koster en bil?"] = Answer(
        "Hvad koster en bil?", "Det står ikke i artiklerne.", True, "da"
    )
    server.message(ALICE, "Hvad koster en bil?")
    [reply] = await server.wait_sent(ALICE)
    assert reply.text == "Det står ikke i artiklerne."
    assert "reply_markup" not in reply.params


async def test_follow_up_gets_history_and_new_forgets_it(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    server.message(ALICE, "Hvad er Jobcamp?")
    await server.wait_sent(ALICE, 1)
    server.message(ALICE, "Hvor mange deltog?")
    await server.wait_sent(ALICE, 2)
    server.message(ALICE, "/new")
    await server.wait_sent(ALICE, 3)
    server.message(ALICE, "Og i 2019?")
    sent = await server.wait_sent(ALICE, 4)

    first = cited_answer("Hvad er Jobcamp?")
    assert service.calls[1] == ("Hvor mange deltog?", [Turn("Hvad er Jobcamp?", first.text)])
    assert sent[2].text == "Ny samtale: jeg har glemt de tidligere spørgsmål."
    assert service.calls[2] == ("Og i 2019?", [])


async def test_history_is_bounded_and_survives_a_restart(
    settings: Settings, server: FakeTelegramServer, service: FakeService
) -> None:
    async with running(settings, service):
        for n in range(4):
            server.message(ALICE, f"Spørgsmål {n}?")
            await server.wait_sent(ALICE, n + 1)
    async with running(settings, service):
        server.message(ALICE, "Og så?")
        await server.wait_sent(ALICE, 5)
        server.message(ALICE, "/sources")
        sent = await server.wait_sent(ALICE, 6)

    assert [t.question for t in service.calls[-1][1]] == ["Spørgsmål 1?", "Spørgsmål 2?", "Spørgsmål 3?"]
    assert "<blockquote>Jobcamp samlede 800 ledige.</blockquote>" in sent[5].text
    assert (settings.data_dir / "telegram.sqlite3").is_file()


async def test_sources_before_any_answer(app: App, server: FakeTelegramServer) -> None:
    server.message(ALICE, "/sources")
    [reply] = await server.wait_sent(ALICE)
    assert reply.text == "Der er ikke noget svar endnu. Stil et spørgsmål først."


async def test_a_stale_sources_button_says_so(app: App, server: FakeTelegramServer) -> None:
    server.message(ALICE, "Hvad er Jobcamp?")
    await server.wait_sent(ALICE)
    server.callback(ALICE, "src:999")
    await server.wait_for(lambda: bool(server.requests("answerCallbackQuery")))
    await settle(app, server)
    assert server.requests("answerCallbackQuery")[0].params["text"] == "De kilder er ikke gemt længere."
    assert len(server.sent(ALICE)) == 1


# -- access -----------------------------------------------------------------------------------------------------


async def test_stranger_gets_one_polite_refusal_and_the_service_is_not_called(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    server.message(STRANGER, "Hvad er Jobcamp?")
    server.message(STRANGER, "Hallo?")
    server.message(STRANGER, "/start")
    await settle(app, server)

    assert service.calls == []
    [refusal] = server.sent(STRANGER)
    assert "privat" in refusal.text and str(STRANGER) in refusal.text
    assert "parse_mode" not in refusal.params


async def test_open_mode_answers_anyone(
    tmp_path: Path, server: FakeTelegramServer, service: FakeService
) -> None:
    open_settings = Settings(
        data_dir=tmp_path / "d",
        telegram_token=TOKEN,
        telegram_api_url=server.api_url,
        telegram_open=True,  # type: ignore[arg-type]
    )
    async with running(open_settings, service):
        server.message(STRANGER, "Hvad er Jobcamp?")
        await server.wait_sent(STRANGER)
    assert service.questions == ["Hvad er Jobcamp?"]


async def test_group_answers_only_when_addressed(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    server.message(GROUP, "Hvad er Jobcamp?", user_id=STRANGER)  # not addressed: ignored
    await settle(app, server)
    assert service.calls == [] and server.sent(GROUP) == []

    mention = server.message(GROUP, "@kilde_test_bot hvad er Jobcamp?", user_id=STRANGER)
    [first] = await server.wait_sent(GROUP, 1)
    assert service.questions == ["hvad er Jobcamp?"]
    assert first.params["reply_parameters"]["message_id"] == mention["message"]["message_id"]

    server.message(GROUP, "Og Kim?", user_id=BOB, reply_to=server.bot_messages(GROUP)[0])
    await server.wait_sent(GROUP, 2)
    server.message(GROUP, "/ask@kilde_test_bot Hvem er Kim?", user_id=BOB)
    await server.wait_sent(GROUP, 3)
    server.message(GROUP, "/ask@another_bot Hvem er Kim?", user_id=BOB)  # for another bot
    await settle(app, server)
    assert service.questions == ["hvad er Jobcamp?", "Og Kim?", "Hvem er Kim?"]
    assert len(service.calls[2][1]) == 2  # the group shares one history


async def test_unknown_group_is_refused_once_only_when_addressed(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    other = -100999
    server.message(other, "Hvad er Jobcamp?", user_id=STRANGER)
    server.message(other, "@kilde_test_bot Hvad er Jobcamp?", user_id=STRANGER)
    server.message(other, "@kilde_test_bot Hallo?", user_id=STRANGER)
    await settle(app, server)
    assert service.calls == []
    assert len(server.sent(other)) == 1


# -- formatting -------------------------------------------------------------------------------------------------


async def test_html_special_characters_from_articles_and_users_are_escaped(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    question = "Er 3 < 5 & 7 > 2?"
    service.replies[question] = Answer(
        question,
        "Ja: 3 < 5 & 7 > 2, og <script>alert(1)</script> er bare tekst [1].",
        False,
        "da",
        [
            Citation(
                1, "d", "c", 'R&D <test> "citat"', None, "https://example.org/?a=1&b=2", "<b>fed</b> & mere"
            )
        ],
    )
    server.message(ALICE, question)
    [reply] = await server.wait_sent(ALICE)
    assert "3 &lt; 5 &amp; 7 &gt; 2" in reply.text
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in reply.text
    assert "R&amp;D &lt;test&gt;" in reply.text
    assert '<a href="https://example.org/?a=1&amp;b=2">[1]</a>' in reply.text
    checker = check_html(reply.text)
    assert "<script>alert(1)</script>" in checker.text  # what the reader sees

    server.callback(ALICE, "src:1")
    sent = await server.wait_sent(ALICE, 2)
    assert "&lt;b&gt;fed&lt;/b&gt; &amp; mere" in sent[1].text
    check_html(sent[1].text)


async def test_a_5000_character_answer_is_split_at_a_paragraph(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    sentence = "Jobcentret hjalp de ledige videre & i job. "
    paragraphs = [f"Afsnit {n}. " + sentence * 11 + "Det siger kilden [1]." for n in range(10)]
    long_text = "\n\n".join(paragraphs)
    assert 4900 < len(long_text) < 5100  # about 5,000 characters in 10 paragraphs, 10 links
    service.replies["Fortæl alt"] = cited_answer("Fortæl alt", long_text)
    server.message(ALICE, "Fortæl alt")
    await server.wait_sent(ALICE, 2)
    await settle(app, server)
    parts = server.sent(ALICE)

    assert len(parts) == 2
    assert all(len(p.text) <= 4096 for p in parts)
    assert ["reply_markup" in p.params for p in parts] == [False, True]
    first, second = (check_html(p.text).text for p in parts)
    assert long_text.startswith(first) and first.endswith("kilden [1].")  # cut at a paragraph's end
    assert len(first) > 2000  # ... the last one that fits, not the first
    assert second.startswith("Afsnit ") and (first + "\n\n" + second).startswith(long_text)


async def test_rejected_html_is_sent_again_as_plain_text(app: App, server: FakeTelegramServer) -> None:
    server.reject_html(1)
    server.message(ALICE, "Hvad er Jobcamp?")
    [reply] = await server.wait_sent(ALICE)
    rejected = [c for c in server.requests("sendMessage") if c.status == 400]
    assert len(rejected) == 1
    assert "parse_mode" not in reply.params
    assert reply.text.startswith("Svar på «Hvad er Jobcamp?» [1].")
    assert "[1] Jobcamp 2018: færre regler · 2018-05-01 · https://example.org/jobcamp" in reply.text
    assert reply.params["reply_markup"]["inline_keyboard"][0][0]["text"] == "Kilder"


# -- delivery ---------------------------------------------------------------------------------------------------


async def test_429_retry_after_is_honoured_and_the_answer_arrives_once(
    app: App, server: FakeTelegramServer
) -> None:
    server.fail_next("sendMessage", 1, 429, retry_after=1)
    started = time.monotonic()
    server.message(ALICE, "Hvad er Jobcamp?")
    await server.wait_sent(ALICE, 1, within=10)
    await settle(app, server)

    attempts = server.requests("sendMessage")
    assert [c.status for c in attempts] == [429, 200]
    assert attempts[1].at - attempts[0].at >= 1.0
    assert len(server.sent(ALICE)) == 1
    assert time.monotonic() - started < 5


async def test_a_dropped_connection_is_retried_once(app: App, server: FakeTelegramServer) -> None:
    server.drop_next("sendMessage", 1)
    server.message(ALICE, "Hvad er Jobcamp?")
    await server.wait_sent(ALICE, 1)
    await settle(app, server)
    assert [c.status for c in server.requests("sendMessage")] == [0, 200]


async def test_a_slow_chat_does_not_hold_up_another(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    service.gates["langsomt"] = threading.Event()
    server.message(ALICE, "Et langsomt spørgsmål")
    await server.wait_for(lambda: service.questions == ["Et langsomt spørgsmål"], what="the slow question")
    server.message(BOB, "Et hurtigt spørgsmål")
    [fast] = await server.wait_sent(BOB)
    assert server.sent(ALICE) == []  # still thinking
    service.release()
    [slow] = await server.wait_sent(ALICE)
    assert fast.at < slow.at


async def test_one_chat_is_answered_in_order(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    service.gates["først"] = threading.Event()
    server.message(ALICE, "Spørgsmål først")
    server.message(ALICE, "Spørgsmål bagefter")
    server.message(ALICE, "/sources")
    await server.wait_for(lambda: len(service.calls) == 1, what="the first question")
    await asyncio.sleep(0.1)
    assert service.questions == ["Spørgsmål først"]  # the second waits for the first
    service.release()
    sent = await server.wait_sent(ALICE, 3)
    assert "først" in sent[0].text and "bagefter" in sent[1].text and "<blockquote>" in sent[2].text
    assert service.calls[1][1][0].question == "Spørgsmål først"


# -- bad input --------------------------------------------------------------------------------------------------


async def test_bad_input_gets_a_sensible_reply_or_is_ignored(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    server.message(ALICE, sticker={"file_id": "s", "file_unique_id": "s", "width": 1, "height": 1,
                                   "is_animated": False, "is_video": False, "type": "regular"})  # fmt: skip
    server.message(ALICE, photo=[{"file_id": "p", "file_unique_id": "p", "width": 1, "height": 1}])
    server.message(ALICE, voice={"file_id": "v", "file_unique_id": "v", "duration": 1})
    server.message(ALICE, "x" * 2001)
    server.message(ALICE, "/ask")
    server.message(ALICE, "/frobnicate")
    server.message(ALICE, "Redigeret spørgsmål?", kind="edited_message")
    server.message(-100777, "Kanalindlæg", kind="channel_post", chat_type="channel")
    server.message(ALICE, "   ")
    await settle(app, server)
    server.message(ALICE, "Hvad er Jobcamp?")  # and the bot keeps answering
    await server.wait_sent(ALICE, 8)

    texts = server.texts(ALICE)
    assert texts[:3] == ["Jeg kan kun læse tekst. Skriv dit spørgsmål som en besked."] * 3
    assert texts[3] == "Spørgsmålet er for langt (2001 tegn; højst 2000). Gør det kortere."
    assert texts[4].startswith("Skriv dit spørgsmål efter kommandoen")
    assert texts[5] == "Den kommando kender jeg ikke. Se /help."
    assert texts[6] == "Hvad vil du spørge om?"
    assert service.questions == ["Hvad er Jobcamp?"]
    assert server.sent(-100777) == []


async def test_a_failing_service_gets_an_apology_and_the_bot_keeps_running(
    app: App, server: FakeTelegramServer, service: FakeService
) -> None:
    service.error = RuntimeError("index exploded")
    server.message(ALICE, "Hvad er Jobcamp?")
    [apology] = await server.wait_sent(ALICE)
    assert apology.text == "Beklager, noget gik galt. Prøv igen om lidt."
    service.error = UsageError("the question is empty")
    server.message(ALICE, "?")
    sent = await server.wait_sent(ALICE, 2)
    assert sent[1].text == "the question is empty"
    service.error = None
    server.message(ALICE, "Hvad er Jobcamp?")
    sent = await server.wait_sent(ALICE, 3)
    assert sent[2].text.startswith("Svar på")


async def test_a_user_who_blocked_the_bot_is_logged_in_one_line(
    app: App, server: FakeTelegramServer, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="bot.telegram.app")
    server.fail_next("sendMessage", 1, 403, "Forbidden: bot was blocked by the user")
    server.message(ALICE, "Hvad er Jobcamp?")
    await settle(app, server)
    [record] = [r for r in caplog.records if "cannot write" in r.getMessage()]
    assert record.levelno == logging.INFO and not record.exc_text
    assert server.sent(ALICE) == []  # no apology into a chat that cannot be written to


async def test_polling_errors_are_one_warning_line(app: App, caplog: pytest.LogCaptureFixture) -> None:
    from telegram.error import NetworkError

    await app.process_error(None, NetworkError("httpx.ConnectError: All connection attempts failed"))
    [record] = [r for r in caplog.records if r.name == "bot.telegram.app"]
    assert record.levelno == logging.WARNING and not record.exc_text
    assert record.getMessage() == (
        "fetching updates failed, retrying: NetworkError: httpx.ConnectError: All connection attempts failed"
    )


# -- commands through process_update -----------------------------------------------------------------------------


def _command_update(app: App, server: FakeTelegramServer, text: str, language_code: str = "da") -> Update:
    raw = server.message(ALICE, text, language_code=language_code, deliver=False)
    return Update.de_json(raw, app.bot)


async def test_start_names_the_articles(
    settings: Settings, server: FakeTelegramServer, service: FakeService
) -> None:
    app = build_application(settings, service)
    async with app:
        await app.process_update(_command_update(app, server, "/start"))
        await app.process_update(_command_update(app, server, "/help", "en"))
    start, help_text = server.texts(ALICE)
    assert "2 artikler" in start
    assert '<a href="https://example.org/jobcamp">Jobcamp 2018: færre regler</a> (2018-05-01)' in start
    assert "Kim Them Serup, Vordingborg (2019-02-03)" in start
    check_html(start)
    assert help_text.startswith("Ask a question about the articles")


async def test_handlers_get_the_typed_context_with_this_bots_data(
    settings: Settings, server: FakeTelegramServer, service: FakeService
) -> None:
    app = build_application(settings, service)
    assert isinstance(app.bot_data, BotData) and app.bot_data.service is service
    assert app.bot_data.settings is settings and app.bot_data.refused == set()
    seen: list[KildeContext] = []

    async def spy(update: Update, context: KildeContext) -> None:
        seen.append(context)

    app.add_handler(TypeHandler(Update, spy), group=-2)
    async with app:
        await app.process_update(_command_update(app, server, "/new"))
    [context] = seen
    assert isinstance(context, KildeContext) and context.bot_data is app.bot_data


# -- settings and secrets ---------------------------------------------------------------------------------------


def test_a_missing_token_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="KILDE_TELEGRAM_TOKEN"):
        check_settings(Settings(data_dir=tmp_path, telegram_allowed_ids=[ALICE]))
    with pytest.raises(UsageError, match="KILDE_TELEGRAM_ALLOWED_IDS") as info:
        build_application(Settings(data_dir=tmp_path, telegram_token=TOKEN), FakeService())  # type: ignore[arg-type]
    assert TOKEN not in str(info.value) and "\n" not in str(info.value)


def test_the_command_fails_in_one_line_before_building_the_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.service

    def explode(*args: object) -> None:
        raise AssertionError("the service must not be built")

    monkeypatch.setattr(retrieval.service, "build_service", explode)
    runner = CliRunner()
    result = runner.invoke(bot_command, obj=Settings(data_dir=tmp_path, telegram_allowed_ids=[ALICE]))
    assert result.exit_code == 2
    assert (
        result.output.strip()
        == "kilde: error: no Telegram bot token: set KILDE_TELEGRAM_TOKEN (ask @BotFather for one)"
    )
    result = runner.invoke(bot_command, obj=Settings(data_dir=tmp_path, telegram_token=TOKEN))  # type: ignore[arg-type]
    assert result.exit_code == 2 and "KILDE_TELEGRAM_OPEN" in result.output and TOKEN not in result.output


@contextmanager
def server_in_a_thread(token: str) -> Iterator[FakeTelegramServer]:
    """A fake server on its own event loop, for code that runs its own loop (`run_polling`)."""
    loop = asyncio.new_event_loop()
    fake = loop.run_until_complete(FakeTelegramServer(token=token).start())
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        asyncio.run_coroutine_threadsafe(fake.stop(), loop).result(5)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_a_rejected_token_is_one_line_without_the_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import retrieval.live
    import retrieval.service

    monkeypatch.setattr(
        retrieval.live, "build_live_service", lambda settings, note, embeddings: FakeService()
    )
    monkeypatch.setattr(retrieval.service, "build_embeddings", lambda settings: None)
    monkeypatch.setattr("bot.cli.indexing.ensure_index", lambda settings: None, raising=False)
    with server_in_a_thread("1:a-different-token") as fake:
        settings = Settings(
            data_dir=tmp_path,
            telegram_token=TOKEN,  # type: ignore[arg-type]
            telegram_api_url=fake.api_url,
            telegram_open=True,
        )
        result = CliRunner().invoke(bot_command, obj=settings)  # the real run_polling
    assert result.exit_code == 1
    assert (
        result.output.strip() == "kilde: error: Telegram rejected the bot token: check KILDE_TELEGRAM_TOKEN"
    )
    assert TOKEN not in result.output


async def test_the_token_never_reaches_the_logs_even_on_errors(
    app: App, server: FakeTelegramServer, service: FakeService, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    logging.getLogger("httpx").setLevel(logging.DEBUG)  # even if someone turns request logging back on
    try:
        service.error = RuntimeError(f"request to {server.api_url}{TOKEN}/sendMessage failed")
        server.message(ALICE, "Hvad er Jobcamp?")
        [apology] = await server.wait_sent(ALICE)
        server.fail_next("sendMessage", 1, 500, f"Internal error for {TOKEN}")
        service.error = None
        server.message(ALICE, "Og igen?")
        await server.wait_sent(ALICE, 2)
        await settle(app, server)
    finally:
        logging.getLogger("httpx").setLevel(logging.WARNING)

    assert "noget gik galt" in apology.text and TOKEN not in apology.text
    everything = caplog.text + "".join(str(r.__dict__) for r in caplog.records)
    assert TOKEN not in everything
    assert "<token>" in caplog.text  # the request urls were there, redacted
    assert "update 1 failed: RuntimeError" in caplog.text
    assert any(r.levelno == logging.ERROR and "Traceback" in (r.exc_text or "") for r in caplog.records)
    assert all(TOKEN not in c.text for c in server.sent())


# -- webhook ----------------------------------------------------------------------------------------------------


async def test_webhook_mode_checks_the_secret_and_answers(
    tmp_path: Path, server: FakeTelegramServer, service: FakeService, unused_tcp_port: int
) -> None:
    pytest.importorskip("tornado")
    import aiohttp

    hook = Settings(
        data_dir=tmp_path / "d",
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=server.api_url,
        telegram_allowed_ids=[ALICE],
        telegram_webhook_url="https://bot.example.org/kilde/hook",
        telegram_webhook_port=unused_tcp_port,
        telegram_webhook_secret="s3cret-value",  # type: ignore[arg-type]
    )
    app = build_application(hook, service)
    options = tg.webhook_options(hook) | {"listen": "127.0.0.1"}
    async with app:
        assert app.updater is not None
        await app.updater.start_webhook(**options)
        await app.start()
        try:
            update = server.message(ALICE, "Hvad er Jobcamp?", deliver=False)
            url = f"http://127.0.0.1:{unused_tcp_port}/kilde/hook"
            async with aiohttp.ClientSession() as session:
                async with session.post(
                    url, json=update, headers={"X-Telegram-Bot-Api-Secret-Token": "wrong"}
                ) as r:
                    assert r.status == 403
                secret = {"X-Telegram-Bot-Api-Secret-Token": "s3cret-value"}
                async with session.post(url, json=update, headers=secret) as r:
                    assert r.status == 200
            [reply] = await server.wait_sent(ALICE)
        finally:
            await app.updater.stop()
            await app.stop()
    [webhook] = server.requests("setWebhook")
    assert webhook.params["url"] == "https://bot.example.org/kilde/hook"
    assert webhook.params["secret_token"] == "s3cret-value"
    assert webhook.params["allowed_updates"] == ["message", "callback_query"]
    assert reply.text.startswith("Svar på")


class StreamingService(FakeService):
    """Streams its answer in pieces, as a language model would, before returning the verified Answer."""

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer:
        assert on_token is not None
        for piece in ["Svar ", "på ", "spørgsmålet ", "[1]."]:
            on_token(piece)
            time.sleep(0.15)
        return cited_answer(question, text="Svar på spørgsmålet [1].")


async def test_a_streamed_answer_is_edited_in_place_and_finished_with_formatting(
    settings: Settings, server: FakeTelegramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tg, "STREAM_EDIT_INTERVAL", 0.2)
    async with running(settings, StreamingService()):
        server.message(ALICE, "Hvad er Jobcamp?")
        await server.wait_for(
            lambda: any(c.params.get("reply_markup") for c in server.requests("editMessageText")),
            what="the final edit",
        )
    [draft] = server.requests("sendMessage")
    edits = server.requests("editMessageText")
    assert draft.text.endswith("…") and "parse_mode" not in draft.params  # a plain-text draft
    assert len(edits) <= 4  # throttled: not one edit per token
    final = edits[-1]
    assert final.params["parse_mode"] == "HTML"
    assert "<b>Kilder</b>" in final.text and '<a href="https://example.org/jobcamp">[1]</a>' in final.text
    assert final.params["reply_markup"] == {
        "inline_keyboard": [[{"text": "Kilder", "callback_data": "src:1"}]]
    }
    assert all(e.params["message_id"] == edits[0].params["message_id"] for e in edits)
