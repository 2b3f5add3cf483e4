"""Issue 11, item 6: an open chat or bot follows edits to the article files; deleted articles are never quoted again."""

from __future__ import annotations

import io
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
from pydantic import SecretStr
from rich.console import Console

from bot.terminal.chat import run_chat
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.index.ingest import ingest
from retrieval.index.store import IngestReport
from retrieval.live import LiveService, build_live_service
from retrieval.service import build_service
from retrieval.settings import Settings
from retrieval.types import Answer

STIGE = "---\ntitle: Stigen\n---\nBrandstationen i Humlebæk får en ny stige på 42 meter."
QUESTION = "Hvor lang er stigen i Humlebæk?"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def live(settings: Settings, clock: Clock | None = None, notes: list[str] | None = None) -> LiveService:
    embeddings = FakeEmbeddings()
    syncs: list[int] = []

    def sync(paths: Sequence[Path]) -> IngestReport:
        syncs.append(1)
        return ingest(settings, paths, embeddings)

    service = LiveService(
        settings,
        build=lambda: build_service(settings, embeddings),
        sync=sync,
        notify=(notes if notes is not None else []).append,
        clock=clock or Clock(),
    )
    service.syncs = syncs  # type: ignore[attr-defined]
    return service


def cited(answer: Answer) -> set[str]:
    return {c.doc_id for c in answer.citations} | {r.doc_id for r in answer.retrieved}


@pytest.fixture
def indexed(fake_settings: Settings) -> Settings:
    ingest(fake_settings, [fake_settings.corpus_dir], FakeEmbeddings())
    return fake_settings


def test_added_edited_and_deleted_articles_are_seen_before_the_next_answer(indexed: Settings) -> None:
    clock, notes = Clock(), []
    service = live(indexed, clock, notes)
    assert "stige" not in cited(service.answer(QUESTION))

    (indexed.corpus_dir / "stige.md").write_text(STIGE)
    clock.now += 1.5
    assert "stige" in cited(service.answer(QUESTION))
    assert any("1 added" in n for n in notes)

    (indexed.corpus_dir / "stige.md").write_text(STIGE.replace("42 meter", "17 meter"))
    clock.now += 1.5
    answer = service.answer(QUESTION)
    assert all("42 meter" not in c.quote for c in answer.citations)
    assert "42 meter" not in answer.text

    (indexed.corpus_dir / "stige.md").unlink()
    clock.now += 1.5
    answer = service.answer(QUESTION)
    assert "stige" not in cited(answer)
    assert "stige" not in {d.doc_id for d in service.documents()}


def test_the_check_is_rate_limited_and_reload_forces_it(indexed: Settings) -> None:
    clock = Clock()
    service = live(indexed, clock)
    (indexed.corpus_dir / "stige.md").write_text(STIGE)
    clock.now += 0.5  # within the second: no check yet
    assert "stige" not in cited(service.answer(QUESTION))
    assert "1 added" in service.reload()
    assert "stige" in cited(service.answer(QUESTION))
    assert service.reload() == "the index is up to date with the articles"
    assert service.syncs == [1]  # type: ignore[attr-defined]


def test_a_broken_article_added_later_is_reported_and_the_rest_still_answer(indexed: Settings) -> None:
    clock, notes = Clock(), []
    service = live(indexed, clock, notes)
    (indexed.corpus_dir / "bad.md").write_text("---\ndate: !!int xyz\n---\nTekst.")
    (indexed.corpus_dir / "stige.md").write_text(STIGE)
    clock.now += 1.5
    assert "stige" in cited(service.answer(QUESTION))
    assert any("bad.md" in n and "not a valid int" in n for n in notes)


def test_a_failing_update_is_told_once_and_the_index_still_answers(indexed: Settings) -> None:
    from retrieval.errors import StoreError

    clock, notes = Clock(), []
    service = live(indexed, clock, notes)

    def fail(_: Sequence[Path]) -> IngestReport:
        raise StoreError("cannot write to the index: database or disk is full")

    service._sync = fail  # type: ignore[method-assign]
    (indexed.corpus_dir / "stige.md").write_text(STIGE)
    for _ in range(3):
        clock.now += 1.5
        service.answer(QUESTION)
    assert len(notes) == 1 and "disk is full" in notes[0] and "answering from the index as it is" in notes[0]


def test_concurrent_questions_share_one_sync(indexed: Settings) -> None:
    clock = Clock()
    service = live(indexed, clock)
    (indexed.corpus_dir / "stige.md").write_text(STIGE)
    clock.now += 1.5
    results: list[set[str]] = []
    threads = [
        threading.Thread(target=lambda: results.append(cited(service.answer(QUESTION)))) for _ in range(6)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 6 and all("stige" in r for r in results)
    assert service.syncs == [1]  # type: ignore[attr-defined]


def test_the_terminal_chat_follows_the_corpus_and_has_reload(indexed: Settings) -> None:
    service = build_live_service(indexed, lambda _line: None, FakeEmbeddings())
    article = indexed.corpus_dir / "stige.md"

    class Script(io.StringIO):
        """Adds an article while the chat waits for its second line, as a user editing files would."""

        def readline(self, size: int | None = -1) -> str:
            line = super().readline()
            if line.startswith("/reload"):
                article.write_text(STIGE)
            return line

    out = io.StringIO()
    run_chat(
        service,
        Console(file=out, width=200),
        stdin=Script(f"{QUESTION}\n/reload\n/sources\n{QUESTION}\n/sources\n"),
    )
    text = out.getvalue()
    assert "1 added" in text  # what /reload said
    assert "fejl" not in text
    assert "stige" in cited(service.answer(QUESTION))


async def test_the_bot_has_reload(indexed: Settings, tmp_path: Path) -> None:
    from tests.fakes.telegram_server import FakeTelegramServer
    from tests.test_telegram import ALICE, TOKEN, running

    async with FakeTelegramServer(token=TOKEN) as server:
        settings = indexed.replace(
            telegram_token=SecretStr(TOKEN), telegram_api_url=server.api_url, telegram_allowed_ids=[ALICE]
        )
        service = build_live_service(settings, lambda _line: None, FakeEmbeddings())
        async with running(settings, service):  # type: ignore[arg-type]
            (indexed.corpus_dir / "stige.md").write_text(STIGE)
            server.message(ALICE, "/reload", language_code="en")
            [reply] = await server.wait_sent(ALICE)
            assert "1 added" in reply.text
            (indexed.corpus_dir / "stige.md").unlink()
            server.message(ALICE, "/reload", language_code="en")
            second = (await server.wait_sent(ALICE, 2))[1]
            assert "1 deleted" in second.text
            server.message(ALICE, QUESTION)
            answer = (await server.wait_sent(ALICE, 3))[2]
            assert "Stigen" not in answer.text and "42 meter" not in answer.text
            assert "stige" not in cited(service.service.answer(QUESTION))


def test_a_file_that_stays_broken_is_reported_once(indexed: Settings) -> None:
    clock, notes = Clock(), []
    service = live(indexed, clock, notes)
    (indexed.corpus_dir / "bad.md").write_text("---\ndate: !!int xyz\n---\nTekst.")
    for n in range(3):
        (indexed.corpus_dir / f"new-{n}.md").write_text(f"---\ntitle: Ny {n}\n---\nEn ny artikel nummer {n}.")
        clock.now += 1.5
        service.answer(QUESTION)
    assert len([n for n in notes if "bad.md" in n]) == 1
    assert len([n for n in notes if "1 added" in n]) == 3
