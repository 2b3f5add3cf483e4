"""What the front ends do with the index: keep it current before answering, ingest articles, rebuild it.

The front ends only print: every decision (which articles, whether to re-index, what to do when that fails) is
made here, and told through one-line notes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from retrieval.errors import KildeError
from retrieval.index.corpus import Corpus, indexed_corpus
from retrieval.index.store import IngestReport
from retrieval.settings import Settings

__all__ = ["Corpus", "Indexer", "IngestReport"]

Note = Callable[[str], None]
Progress = Callable[[int, int], None]


class Indexer:
    """The index of `settings`, for front ends: they never import `retrieval.index` themselves."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def corpus(self) -> Corpus:
        """The articles the index holds (see `retrieval.index.corpus.indexed_corpus`)."""
        return indexed_corpus(self.settings)

    def ingest(self, paths: Sequence[Path], on_progress: Progress | None = None) -> IngestReport:
        """Index exactly these articles; re-running embeds only what changed."""
        from retrieval.index.ingest import ingest
        from retrieval.index.store import prepare_data_dir
        from retrieval.service import build_embeddings

        prepare_data_dir(self.settings.data_dir)
        return ingest(self.settings, paths, build_embeddings(self.settings), on_progress)

    def rebuild(self) -> Path | None:
        """Set the index aside so the next ingest builds it anew; returns where it went (None: nothing moved)."""
        from retrieval.index.recovery import set_aside

        return set_aside(self.settings)

    def ensure(self, note: Note, ingest: Callable[[list[Path]], IngestReport]) -> None:
        """Index the articles on first use, and again (incrementally, through `ingest`) when they changed.

        The articles are those the index was built from (`kilde ingest PATH` chooses them), unless
        KILDE_CORPUS_DIR is set to others on purpose; a new index takes the corpus setting. The default corpus
        never switches an index to other articles, so a question never deletes any by itself.

        An update another process is making is not waited for: questions are answered from the last complete
        index, and one line says so. One that was interrupted (killed, a full disk) is rolled back to the
        articles of the last complete index (finished, when those are gone), and `ingest` says which.
        """
        from retrieval.index.datadir import is_writable
        from retrieval.index.ingest import is_stale, pending_update
        from retrieval.index.store import prepare_data_dir, read_state, update_in_progress

        settings = self.settings
        if not settings.chroma.url:
            prepare_data_dir(settings.data_dir)
        corpus = self.corpus()
        if corpus.note:
            note(corpus.note)
        first = not read_state(settings.data_dir).get("corpus_fingerprint")
        shown = ", ".join(str(p) for p in corpus.paths)
        pending = pending_update(settings.data_dir)
        if pending is not None and first and all(Path(p).exists() for p in pending):
            corpus = Corpus([Path(p) for p in pending])  # the first ingest was interrupted: finish it
            shown = ", ".join(pending)
        if pending is not None and not first:
            if update_in_progress(settings.data_dir):
                note(
                    f"the index is being updated (to the articles in {', '.join(pending)}) by another kilde "
                    f"process; answering from the last complete index, the articles in {shown}"
                )
                return
            if corpus.missing and all(Path(p).exists() for p in pending):
                self._update(note, ingest, [Path(p) for p in pending])  # the old articles are gone: finish
                return
        if corpus.missing:
            note(f"{corpus.missing[0]} is gone; answering from the index as it is")
            return
        if not settings.corpus_dir.is_dir() and corpus.paths == [settings.corpus_dir]:
            raise KildeError(f"corpus directory {settings.corpus_dir} does not exist (set KILDE_CORPUS_DIR)")
        if pending is None and not is_stale(settings, corpus.paths):
            return
        if not first and not settings.chroma.url and not is_writable(settings.data_dir):
            note(f"{shown} changed, but the data directory is read-only; answering from the index as it is")
            return
        if first:
            note(f"indexing {shown} for the first time …")
            ingest(corpus.paths)
            return
        if pending is None:
            note(f"{shown} changed since the last index; updating it …")
        self._update(note, ingest, corpus.paths)

    @staticmethod
    def _update(note: Note, ingest: Callable[[list[Path]], IngestReport], paths: list[Path]) -> None:
        try:
            ingest(paths)
        except KildeError as exc:  # a full disk, a damaged cache, a lock held long: the old index still answers
            note(f"{exc}; answering from the last complete index")
