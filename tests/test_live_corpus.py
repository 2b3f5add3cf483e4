"""Issue 11, item 6: an open chat or bot follows edits to the article files; deleted articles are never quoted again."""

from __future__ import annotations

import io
import os
import threading
import time
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


def live(settings: Settings, notes: list[str] | None = None) -> LiveService:
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
    notes: list[str] = []
    service = live(indexed, notes)
    assert "stige" not in cited(service.answer(QUESTION))

    (indexed.corpus_dir / "stige.md").write_text(STIGE)
    assert "stige" in cited(service.answer(QUESTION))
    assert any("1 added" in n for n in notes)

    (indexed.corpus_dir / "stige.md").write_text(STIGE.replace("42 meter", "17 meter"))
    answer = service.answer(QUESTION)
    assert all("42 meter" not in c.quote for c in answer.citations)
    assert "42 meter" not in answer.text

    (indexed.corpus_dir / "stige.md").unlink()
    answer = service.answer(QUESTION)
    assert "stige" not in cited(answer)
    assert "stige" not in {d.doc_id for d in service.documents()}


def test_reload_says_what_changed_and_an_unchanged_corpus_is_not_synced(indexed: Settings) -> None:
    service = live(indexed)
    (indexed.corpus_dir / "stige.md").write_text(STIGE)
    assert "1 added" in service.reload()
    assert "stige" in cited(service.answer(QUESTION))
    assert service.reload() == "the index is up to date with the articles"
    assert service.syncs == [1]  # type: ignore[attr-defined]


def test_a_broken_article_added_later_is_reported_and_the_rest_still_answer(indexed: Settings) -> None:
    notes: list[str] = []
    service = live(indexed, notes)
    (indexed.corpus_dir / "bad.md").write_text("---\ndate: !!int xyz\n---\nTekst.")
    (indexed.corpus_dir / "stige.md").write_text(STIGE)
    assert "stige" in cited(service.answer(QUESTION))
    assert any("bad.md" in n and "not a valid int" in n for n in notes)


def test_a_failing_update_is_told_once_and_the_index_still_answers(indexed: Settings) -> None:
    from retrieval.errors import StoreError

    notes: list[str] = []
    service = live(indexed, notes)

    def fail(_: Sequence[Path]) -> IngestReport:
        raise StoreError("cannot write to the index: database or disk is full")

    service._sync = fail  # type: ignore[method-assign]
    (indexed.corpus_dir / "stige.md").write_text(STIGE)
    for _ in range(3):
        service.answer(QUESTION)
    assert len(notes) == 1 and "disk is full" in notes[0] and "answering from the index as it is" in notes[0]


def test_concurrent_questions_share_one_sync(indexed: Settings) -> None:
    service = live(indexed)
    (indexed.corpus_dir / "stige.md").write_text(STIGE)
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
    notes: list[str] = []
    service = live(indexed, notes)
    (indexed.corpus_dir / "bad.md").write_text("---\ndate: !!int xyz\n---\nTekst.")
    for n in range(3):
        (indexed.corpus_dir / f"new-{n}.md").write_text(f"---\ntitle: Ny {n}\n---\nEn ny artikel nummer {n}.")
        service.answer(QUESTION)
    assert len([n for n in notes if "bad.md" in n]) == 1
    assert len([n for n in notes if "1 added" in n]) == 3


LADDER = "---\ntitle: Stigen\n---\nStigen i Humlebæk er 42 meter lang, og brandvæsenet bruger den hver uge."
HOW_LONG = "Hvor mange meter er stigen i Humlebæk?"


def quoted(answer: Answer) -> str:
    return answer.text + " ".join(c.quote for c in answer.citations)


def read_from(service: LiveService, answer: Answer) -> str:
    """The text of the chunks the answer was built from (fake vectors pick no sentence by meaning, so what is
    checked is that the retrieved text is the article as it is now)."""
    return " ".join(service.service.chunk_text(r.chunk_id) or "" for r in answer.retrieved)


def test_an_edit_right_after_a_question_is_seen_by_the_next_one(indexed: Settings) -> None:
    """Issue 20, item 5: no second of grace; each question sees every change made before it was asked."""
    service = live(indexed)
    article = indexed.corpus_dir / "stige.md"
    for length in ("42", "17", "58", "42", "31"):  # the same size each time: only the time and the text change
        article.write_text(LADDER.replace("42", length))
        text = read_from(service, service.answer(HOW_LONG))
        assert f"{length} meter" in text, (length, text)
        assert all(f"{other} meter" not in text for other in {"42", "17", "58", "31"} - {length})
    article.unlink()
    assert "stige" not in cited(service.answer(HOW_LONG))


def test_a_change_that_keeps_the_time_and_size_of_a_recent_file_is_seen(indexed: Settings) -> None:
    """A file system stores times only so finely: a second write within the same tick keeps the time, and with the
    same size the file looks unchanged. A file changed that recently is also compared by content. (Its time is
    set a minute ahead here, so it stays recent however long the sync takes on a busy machine.)"""
    service = live(indexed)
    article = indexed.corpus_dir / "stige.md"
    tick = time.time_ns() + 60 * 10**9
    article.write_text(LADDER)
    os.utime(article, ns=(tick, tick))
    assert "42 meter" in read_from(service, service.answer(HOW_LONG))
    before = article.stat()
    article.write_text(LADDER.replace("42", "17"))
    os.utime(article, ns=(tick, tick))  # as a write in the same tick leaves it
    assert article.stat().st_size == before.st_size and article.stat().st_mtime_ns == before.st_mtime_ns
    text = read_from(service, service.answer(HOW_LONG))
    assert "17 meter" in text and "42 meter" not in text


def test_only_files_changed_within_a_tick_of_the_ingest_are_compared_by_content(fake_settings: Settings) -> None:
    from retrieval.index.ingest import RACY_FILES, _still_racy, watch_state

    old, recent = fake_settings.corpus_dir / "old.md", fake_settings.corpus_dir / "recent.md"
    old.write_text(LADDER)
    recent.write_text(LADDER)
    an_hour_ago = time.time_ns() - 3600 * 10**9
    for path in fake_settings.corpus_dir.iterdir():
        if path != recent:
            os.utime(path, ns=(an_hour_ago, an_hour_ago))
    racy = watch_state([fake_settings.corpus_dir], fake_settings)[RACY_FILES]
    assert set(racy) == {str(recent.resolve())}
    # After ingest read them: a file whose time is old enough now leaves the list, unless its text changed.
    hashed = {str(old): racy[str(recent.resolve())], str(recent.resolve()): racy[str(recent.resolve())]}
    assert set(_still_racy(hashed)) == {str(recent.resolve())}
    old.write_text(LADDER.replace("42", "17"))
    os.utime(old, ns=(an_hour_ago, an_hour_ago))
    assert str(old) in _still_racy(hashed)


def test_an_index_made_by_older_chunking_code_is_brought_up_to_date(
    indexed: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval.index import ingest as ingest_module
    from retrieval.index.ingest import is_stale

    assert not is_stale(indexed, [indexed.corpus_dir])
    monkeypatch.setattr(ingest_module, "chunker_fingerprint", lambda: "a newer chunker")
    assert is_stale(indexed, [indexed.corpus_dir])  # the next question syncs: sentences embedded anew
