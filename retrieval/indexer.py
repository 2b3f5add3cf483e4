"""What the front ends do with the index: keep it current before answering, ingest articles, rebuild it.

The front ends only print: every decision (which articles, whether to re-index, what to do when that fails) is
made here, and told through one-line notes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from retrieval.errors import KildeError, StoreError
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

    def ingest(
        self, paths: Sequence[Path], on_progress: Progress | None = None, on_articles: Progress | None = None
    ) -> IngestReport:
        """Index exactly these articles; re-running embeds only what changed."""
        from retrieval.index.ingest import ingest
        from retrieval.index.store import prepare_data_dir
        from retrieval.service import build_embeddings

        prepare_data_dir(self.settings.data_dir)
        return ingest(self.settings, paths, build_embeddings(self.settings), on_progress, on_articles=on_articles)

    def rebuild(self) -> Path | None:
        """Set the index aside so the next ingest builds it anew; returns where it went (None: nothing moved)."""
        from retrieval.index.recovery import set_aside

        return set_aside(self.settings)

    def ensure(self, note: Note, ingest: Callable[[list[Path]], IngestReport]) -> None:
        """Index the articles on first use, and again (incrementally, through `ingest`) when they changed.

        The articles are those the index was built from (`kilde ingest PATH` chooses them), unless
        KILDE_CORPUS_DIR is set to others on purpose; a new index takes the corpus setting. The default corpus
        never switches an index to other articles, so a question never deletes any by itself.
        """
        from retrieval.index.datadir import is_writable
        from retrieval.index.ingest import is_stale
        from retrieval.index.store import prepare_data_dir, read_state

        settings = self.settings
        if not settings.chroma.url:
            prepare_data_dir(settings.data_dir)
        corpus = self.corpus()
        if corpus.note:
            note(corpus.note)
        if corpus.missing:
            note(f"{corpus.missing[0]} is gone; answering from the index as it is")
            return
        if not settings.corpus_dir.is_dir() and corpus.paths == [settings.corpus_dir]:
            raise KildeError(f"corpus directory {settings.corpus_dir} does not exist (set KILDE_CORPUS_DIR)")
        if not is_stale(settings, corpus.paths):
            return
        first = not read_state(settings.data_dir).get("corpus_fingerprint")
        shown = ", ".join(str(p) for p in corpus.paths)
        if not first and not settings.chroma.url and not is_writable(settings.data_dir):
            note(f"{shown} changed, but the data directory is read-only; answering from the index as it is")
            return
        if first:
            note(f"indexing {shown} for the first time …")
            ingest(corpus.paths)
            return
        note(f"{shown} changed since the last index; updating it …")
        try:
            ingest(corpus.paths)
        except StoreError as exc:  # a full disk, a damaged cache, a lock held long: the old index still answers
            note(f"{exc}; answering from the index as it is")
