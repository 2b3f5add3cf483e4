"""Issue 20, items 4 and 6, and issue 19, part 5: an index update is all or nothing for the questions asked
meanwhile and after it failed, and no ingest empties the index by accident.

The process kill itself (`kill -9` at random moments of `kilde ingest NEWPATH`) is benchmarks/bench_switch.py; here
an ingest is stopped half-way by an exception that no code of ours catches, which leaves the same state.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from click.testing import Result

from retrieval.errors import StoreError
from retrieval.index import ingest as ingest_module
from retrieval.index import store
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.index.ingest import ingest, pending_update
from retrieval.index.snapshot import SnapshotIndex
from retrieval.index.store import Index, IngestReport, open_client, read_state
from retrieval.indexer import Indexer
from retrieval.service import build_service
from retrieval.settings import PROJECT_ROOT, Settings
from retrieval.types import Answer
from tests.test_data_dir import kilde, new_process

QUESTIONS = ["Hvem er næstformand i HK Kommunal?", "Hvad handler artiklen om?", "Hvornår skete det?"]


class Killed(BaseException):
    """Stands for the process dying: nothing of ours catches it, as nothing of ours runs after a SIGKILL."""


@pytest.fixture
def new_corpus(tmp_path: Path, corpus_copy: Path) -> Path:
    """The same articles under other ids, with other names in them: a mixed index retrieves from both."""
    folder = tmp_path / "new"
    folder.mkdir()
    for article in sorted(corpus_copy.glob("*.md")):
        text = article.read_text(encoding="utf-8")
        (folder / f"ny-{article.name}").write_text(text.replace("HK", "FOA"), encoding="utf-8")
    return folder


def docs_of(answer: Answer) -> set[str]:
    return {c.doc_id for c in answer.citations} | {r.doc_id for r in answer.retrieved}


def only_old(answer: Answer) -> bool:
    docs = docs_of(answer)
    return bool(docs) and not any(d.startswith("ny-") for d in docs)


def chroma_matches_the_copy(settings: Settings) -> bool:
    copy = SnapshotIndex.load(settings.data_dir, settings.collection, settings.embedder)
    chroma = Index(open_client(settings), FakeEmbeddings(), settings.collection, settings.embedder)
    return copy is not None and sorted(copy.chunk_ids) == sorted(chroma.chunk_ids())


def interrupted(monkeypatch: pytest.MonkeyPatch, run: Callable[[], object]) -> None:
    """`run` an ingest that writes its first batch of new rows to Chroma, then dies."""
    real_add = store._Writer.add

    def add(self: store._Writer, *args: Any, **kwargs: Any) -> None:
        real_add(self, *args, **kwargs)
        raise Killed

    monkeypatch.setattr(store._Writer, "add", add)
    with pytest.raises(Killed):
        run()
    monkeypatch.setattr(store._Writer, "add", real_add)


def test_a_question_during_a_switch_is_answered_from_the_last_complete_index(
    fake_settings: Settings, new_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embeddings = FakeEmbeddings()
    ingest(fake_settings, [fake_settings.corpus_dir], embeddings)
    halfway, resume = threading.Event(), threading.Event()
    real_add = store._Writer.add

    def add(self: store._Writer, *args: Any, **kwargs: Any) -> None:
        real_add(self, *args, **kwargs)  # Chroma now holds the old articles and the new ones
        halfway.set()
        resume.wait(60)

    monkeypatch.setattr(store._Writer, "add", add)
    with ThreadPoolExecutor(1) as pool:
        switch = pool.submit(ingest, fake_settings, [new_corpus], embeddings)
        try:
            assert halfway.wait(60)
            service = build_service(fake_settings, embeddings)
            for question in QUESTIONS:
                assert only_old(service.answer(question)), question
            notes: list[str] = []

            def must_not_wait(paths: list[Path]) -> IngestReport:
                raise AssertionError("a question waited for the running ingest")

            Indexer(fake_settings).ensure(notes.append, must_not_wait)
            assert len(notes) == 1
            assert "being updated" in notes[0] and str(new_corpus.resolve()) in notes[0]
            assert f"last complete index, the articles in {fake_settings.corpus_dir}" in notes[0]
        finally:
            resume.set()
        switch.result(timeout=120)
    service = build_service(fake_settings, embeddings)
    assert all(d.startswith("ny-") for q in QUESTIONS for d in docs_of(service.answer(q)))


def test_an_interrupted_switch_is_not_seen_by_questions(
    fake_settings: Settings, new_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embeddings = FakeEmbeddings()
    ingest(fake_settings, [fake_settings.corpus_dir], embeddings)
    interrupted(monkeypatch, lambda: ingest(fake_settings, [new_corpus], embeddings))
    service = build_service(fake_settings, embeddings)
    for question in QUESTIONS:  # no question sees ...
        assert only_old(service.answer(question)), question
    assert not chroma_matches_the_copy(fake_settings)  # ... that Chroma holds half of the switch
    assert pending_update(fake_settings.data_dir) == [str(new_corpus.resolve())]  # for the next command


def test_the_next_command_line_rolls_an_interrupted_switch_back_with_one_line(
    tmp_path: Path, corpus_copy: Path, new_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "data"
    env = {"KILDE_EMBEDDER": "fake"}
    assert kilde(data, env, "ingest", str(corpus_copy)).exit_code == 0
    new_process()
    interrupted(monkeypatch, lambda: kilde_raising(data, env, "ingest", str(new_corpus)))
    new_process()

    asked = kilde(data, env, "ask", QUESTIONS[0])
    assert asked.exit_code == 0, asked.output
    rolled = [line for line in asked.stderr.splitlines() if "interrupted" in line]
    assert len(rolled) == 1
    assert f"the interrupted switch to {new_corpus.resolve()} is rolled back" in rolled[0]
    assert f"the index holds the articles in {corpus_copy.resolve()} again" in rolled[0]
    assert "ny-" not in asked.stdout
    settings = Settings(data_dir=data, embedder="fake")
    assert pending_update(data) is None and chroma_matches_the_copy(settings)
    new_process()
    again = kilde(data, env, "ask", QUESTIONS[0])
    assert again.exit_code == 0 and "interrupted" not in again.stderr


def kilde_raising(data: Path, env: dict[str, str], *args: str) -> Result:
    """`kilde` whose exceptions are not caught by the test runner (a Killed must escape, as a SIGKILL would)."""
    from click.testing import CliRunner

    from bot.cli.main import cli

    return CliRunner().invoke(cli, ["--data-dir", str(data), *args], env=env, catch_exceptions=False)


def test_an_interrupted_switch_is_finished_when_the_old_articles_are_gone(
    fake_settings: Settings, new_corpus: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    embeddings = FakeEmbeddings()
    ingest(fake_settings, [fake_settings.corpus_dir], embeddings)
    interrupted(monkeypatch, lambda: ingest(fake_settings, [new_corpus], embeddings))
    shutil.rmtree(fake_settings.corpus_dir)
    reports: list[IngestReport] = []

    def run(paths: list[Path]) -> IngestReport:
        reports.append(ingest(fake_settings, paths, embeddings))
        return reports[-1]

    notes: list[str] = []
    Indexer(fake_settings).ensure(notes.append, run)
    assert len(reports) == 1 and reports[0].recovered == (
        f"the interrupted switch to {new_corpus.resolve()} is finished now"
    )
    assert read_state(fake_settings.data_dir)["paths"] == [str(new_corpus.resolve())]
    assert chroma_matches_the_copy(fake_settings)


@pytest.mark.parametrize("stage", ["writing Chroma", "writing the copy"])
def test_after_a_full_disk_questions_are_answered_from_the_last_complete_index(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch, stage: str
) -> None:
    data = tmp_path / "data"
    env = {"KILDE_EMBEDDER": "fake", "KILDE_CORPUS_DIR": str(corpus_copy)}
    assert kilde(data, env, "ingest").exit_code == 0
    new_process()
    from chromadb.api.models.Collection import Collection

    real_upsert = Collection.upsert
    calls = []

    def upsert(self: Collection, *args: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) > 1:  # the first batch is written, then the disk is full
            raise OSError(errno.ENOSPC, "No space left on device")
        real_upsert(self, *args, **kwargs)

    def save(*_: object, **__: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    if stage == "writing Chroma":
        monkeypatch.setattr(Collection, "upsert", upsert)
    else:
        monkeypatch.setattr("retrieval.index.snapshot.np.save", save)
    for i in range(3):
        (corpus_copy / f"new-{i}.md").write_text(f"# Ny {i}\n\n" + "En ny artikel om noget helt nyt. " * 200)
    failed = kilde(data, env, "ingest")
    assert failed.exit_code == 1
    assert "free some space" in failed.stderr
    new_process()

    def broken(*_: object, **__: object) -> None:  # what Chroma said after the disk filled up
        raise StoreError(
            "cannot read the index: Error executing plan: Error sending backfill request to compactor"
        )

    monkeypatch.setattr(ingest_module, "open_client", broken)
    monkeypatch.setattr("retrieval.service.open_client", broken)
    asked = kilde(data, env, "ask", QUESTIONS[0])
    assert asked.exit_code == 0, asked.output
    assert "Kilder" in asked.stdout
    assert "answering from the last complete index" in asked.stderr


def test_an_empty_folder_changes_nothing_and_fails_with_one_line(tmp_path: Path, corpus_copy: Path) -> None:
    data = tmp_path / "data"
    env = {"KILDE_EMBEDDER": "fake"}
    assert kilde(data, env, "ingest", str(corpus_copy)).exit_code == 0
    before = read_state(data)
    empty = tmp_path / "empty"
    empty.mkdir()
    result = kilde(data, env, "ingest", str(empty))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"no readable article in {empty}" in lines[0] and "unchanged" in lines[0]
    assert read_state(data) == before
    assert kilde(data, env, "ingest", str(corpus_copy)).stderr.count(" 0 deleted") == 1


def test_an_unreadable_named_file_deletes_nothing(tmp_path: Path, corpus_copy: Path) -> None:
    data = tmp_path / "data"
    env = {"KILDE_EMBEDDER": "fake"}
    assert kilde(data, env, "ingest", str(corpus_copy)).exit_code == 0
    before = read_state(data)
    latin1 = tmp_path / "notes.txt"
    latin1.write_bytes("Kære læser, café".encode("latin-1"))
    result = kilde(data, env, "ingest", str(latin1))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and f"cannot read {latin1}: not UTF-8" in lines[0] and "unchanged" in lines[0]
    assert read_state(data) == before
    assert " 0 deleted" in kilde(data, env, "ingest", str(corpus_copy)).stderr


def test_every_file_skipped_in_a_folder_is_reported(tmp_path: Path, corpus_copy: Path) -> None:
    data = tmp_path / "data"
    junk = {
        "page.html": b"\x00\x01<html>",
        "paper.pdf": b"%PDF-1.4\x00\xff",
        "letter.docx": b"PK\x03\x04\x00",
        "drawing.odg": b"\x00",
        "photo.png": b"\x89PNG\x00",
        "LICENSE": b"\x00\x00",
    }
    for name, raw in junk.items():
        (corpus_copy / name).write_bytes(raw)
    result = kilde(data, {"KILDE_EMBEDDER": "fake"}, "ingest", str(corpus_copy))
    skipped = [line for line in result.stderr.splitlines() if "skipped" in line]
    for name in junk:
        assert any(name in line for line in skipped), (name, result.stderr)
    assert "5 added" in result.stderr


@pytest.mark.slow
def test_kill_9_during_a_switch_then_ask(tmp_path: Path, corpus_copy: Path, new_corpus: Path) -> None:
    """One round of benchmarks/bench_switch.py, with a real SIGKILL (the benchmark does ten at random moments)."""
    data = tmp_path / "data"
    env = {k: v for k, v in os.environ.items() if not k.startswith("KILDE_")}
    env.update(KILDE_EMBEDDER="fake", KILDE_DATA_DIR=str(data))
    command = [sys.executable, "-c", "from bot.cli.main import main; main()"]

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [*command, *args],
            env=env,
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
            timeout=600,
        )

    assert run("ingest", str(corpus_copy)).returncode == 0
    switch = subprocess.Popen(
        [*command, "ingest", str(new_corpus)], env=env, cwd=PROJECT_ROOT, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 300
    while pending_update(data) is None and switch.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.2)  # into the writes
    switch.send_signal(signal.SIGKILL)
    switch.wait()
    killed_half_way = pending_update(data) is not None
    asked = run("ask", "--json", QUESTIONS[0])
    assert asked.returncode == 0, asked.stderr
    answer = json.loads(asked.stdout)
    docs = {r["doc_id"] for r in answer["retrieved"]} | {c["doc_id"] for c in answer["citations"]}
    assert docs and (all(d.startswith("ny-") for d in docs) or not any(d.startswith("ny-") for d in docs))
    if killed_half_way:
        assert not any(d.startswith("ny-") for d in docs)
        assert f"the interrupted switch to {new_corpus.resolve()} is rolled back" in asked.stderr
    assert pending_update(data) is None
