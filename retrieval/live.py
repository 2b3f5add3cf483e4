"""A live corpus: before answering, notice changed article files and bring the index and the service up to date."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from retrieval.errors import KildeError
from retrieval.index.corpus import indexed_corpus
from retrieval.index.datadir import is_writable
from retrieval.index.embeddings import Embedder
from retrieval.index.ingest import corpus_fingerprint, is_stale, pending_update
from retrieval.index.snapshot import STATE_KEY as READ_SNAPSHOT
from retrieval.index.store import IngestReport, read_state, update_in_progress
from retrieval.service import Service, build_embeddings, build_generator, build_service, ingest_articles
from retrieval.settings import Settings
from retrieval.types import Answer, DocumentInfo, Generator, Turn

Notify = Callable[[str], None]


class LiveService:
    """The answer service over an index that follows its article files while a chat or the bot is running.

    Before each question a check of the files (names, sizes and modification times, and the content of the few
    changed so recently that their time may not show a second change; see `ingest.is_stale`) finds what changed,
    re-indexes it, and rebuilds the service, so a question is never answered from text that changed before it was
    asked. It runs on every question: one `stat` per file, about 35-50 ms of CPU on 5,000 articles
    (benchmarks/bench_live.py). Not a file-system watcher: watchdog's inotify events reach the program half a
    second late (it holds them to pair renames), so a question asked just after an edit would still be answered
    from the old text.
    `reload` does the same and always says what it found. Thread-safe: the bot answers from worker threads; one
    check or sync runs at a time and questions wait for it.
    """

    def __init__(
        self,
        settings: Settings,
        build: Callable[[], Service],
        sync: Callable[[Sequence[Path]], IngestReport],
        notify: Notify,
    ) -> None:
        self.settings = settings
        self._build = build
        self._sync = sync
        self._notify = notify
        self._lock = threading.Lock()
        # A corpus state that could not be indexed (read-only, full disk): not retried until the files change.
        self._failed: str | None = None
        self._warning = ""  # the lasting problem last told, so it is not told before every question
        self._told: set[str] = set()  # problems with files, already reported
        self._built_from = self._index_state()
        self.service = build()

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer:
        self.refresh()
        return self.service.answer(question, history, on_token=on_token)

    def documents(self) -> list[DocumentInfo]:
        self.refresh()
        return self.service.documents()

    def reload(self) -> str:
        """Check the article files now; one line saying what changed."""
        return self.refresh(force=True) or "the index is up to date with the articles"

    def refresh(self, force: bool = False) -> str:
        """Re-index what changed; a line saying what happened (`force`: also what did not), or ''."""
        with self._lock:
            return self._refresh(force)

    def _refresh(self, force: bool) -> str:
        corpus = indexed_corpus(self.settings)
        line = ""
        if corpus.missing:
            line = self._warn(f"{corpus.missing[0]} is gone; answering from the index as it is", force)
        elif is_stale(self.settings, corpus.paths) or pending_update(self.settings.data_dir) is not None:
            line = self._update(corpus.paths, corpus_fingerprint(corpus.paths, self.settings), force)
        else:
            self._warning = ""
        if self._index_state() != self._built_from:  # changed by us, or by `kilde ingest` in another process
            self._built_from = self._index_state()
            self.service = self._build()
        return line

    def _warn(self, line: str, force: bool) -> str:
        """A lasting problem is told once, not before every question (`reload`'s caller shows what it returns)."""
        if not force and line != self._warning:
            self._notify(line)
        self._warning = line
        return line

    def _update(self, paths: Sequence[Path], fingerprint: str, force: bool) -> str:
        if fingerprint == self._failed and not force:
            return self._warning
        if update_in_progress(self.settings.data_dir):  # not waited for: the last complete index answers
            return self._warn(
                "the index is being updated by another kilde process; answering from the last complete index",
                force,
            )
        if not self.settings.chroma.url and not is_writable(self.settings.data_dir):
            self._failed = fingerprint
            return self._warn(
                "the articles changed, but the data directory is read-only; answering from the index as it is",
                force,
            )
        try:
            report = self._sync(paths)
        except KildeError as exc:
            self._failed = fingerprint
            return self._warn(f"cannot update the index ({exc}); answering from the index as it is", force)
        self._failed, self._warning = None, ""
        skipped = [f"skipped {problem}" for problem in report.problems] + report.unsupported_lines()
        for told in skipped:  # each once: a file that stays broken is not reported at every change
            if told not in self._told:
                self._told.add(told)
                self._notify(told)
        if not (report.changed or force):
            return ""
        line = f"articles changed; index: {report.summary()}"
        if not force:
            self._notify(line)
        return line

    def _index_state(self) -> object:
        state = read_state(self.settings.data_dir)
        return state.get("corpus_fingerprint"), state.get(READ_SNAPSHOT)


def build_live_service(
    settings: Settings,
    notify: Notify,
    embeddings: Embedder | None = None,
    generator: Generator | None = None,
) -> LiveService:
    """The service for front ends that stay open (chat, bot); the index should exist (`Indexer.ensure`)."""
    embeddings = embeddings or build_embeddings(settings)
    generator = generator or build_generator(settings)
    return LiveService(
        settings,
        build=lambda: build_service(settings, embeddings, generator),
        sync=lambda paths: ingest_articles(settings, paths, embeddings),
        notify=notify,
    )
