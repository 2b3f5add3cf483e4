"""A live corpus: before answering, notice changed article files and bring the index and the service up to date."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from retrieval.errors import KildeError
from retrieval.index.corpus import indexed_corpus
from retrieval.index.datadir import is_writable
from retrieval.index.embeddings import Embedder
from retrieval.index.ingest import corpus_fingerprint, ingest
from retrieval.index.store import IngestReport, read_state
from retrieval.service import Service, build_embeddings, build_generator, build_service
from retrieval.settings import Settings
from retrieval.types import Answer, DocumentInfo, Generator, Turn

Notify = Callable[[str], None]


class LiveService:
    """The answer service over an index that follows its article files while a chat or the bot is running.

    Before each question a cheap check (names, sizes and modification times of the files; at most once a second,
    and never more than a tenth of the time) finds what changed, re-indexes it, and rebuilds the service, so an
    edited or deleted article is never quoted from its old text. `reload` does the same at once. Thread-safe: the
    bot answers from worker threads; one check or sync runs at a time and questions wait for it.
    """

    def __init__(
        self,
        settings: Settings,
        build: Callable[[], Service],
        sync: Callable[[Sequence[Path]], IngestReport],
        notify: Notify,
        *,
        min_interval: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settings = settings
        self._build = build
        self._sync = sync
        self._notify = notify
        self._min_interval = min_interval
        self._clock = clock
        self._lock = threading.Lock()
        self._next_check = clock() + min_interval
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
        """Re-index what changed, if the check is due (or `force`); a line saying what happened, or ''."""
        with self._lock:
            if not force and self._clock() < self._next_check:
                return ""
            return self._refresh(force)

    def _refresh(self, force: bool) -> str:
        corpus = indexed_corpus(self.settings)
        started = self._clock()
        fingerprint = corpus_fingerprint(corpus.paths, self.settings)
        # Stat-only, but a corpus of many thousands of files takes a while: then check less often.
        self._next_check = self._clock() + max(self._min_interval, 10 * (self._clock() - started))
        line = ""
        if corpus.missing:
            line = self._warn(f"{corpus.missing[0]} is gone; answering from the index as it is", force)
        elif fingerprint != read_state(self.settings.data_dir).get("corpus_fingerprint"):
            line = self._update(corpus.paths, fingerprint, force)
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
        for problem in report.problems:  # each once: a file that stays broken is not reported at every change
            if str(problem) not in self._told:
                self._told.add(str(problem))
                self._notify(f"skipped {problem}")
        if not (report.changed or force):
            return ""
        line = f"articles changed; index: {report.summary()}"
        if not force:
            self._notify(line)
        return line

    def _index_state(self) -> object:
        return read_state(self.settings.data_dir).get("corpus_fingerprint")


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
        sync=lambda paths: ingest(settings, paths, embeddings),
        notify=notify,
    )
