"""Keeping the index in step with the articles, for every command that answers (ask, chat, bot, eval)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.edge import err
from bot.safe_text import safe_text
from bot.terminal.render import progress_bar
from retrieval.errors import KildeError, StoreError
from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.index.store import IngestReport


def run_ingest(settings: Settings, paths: list[Path], description: str = "Embedding") -> IngestReport:
    from retrieval.index.ingest import ingest
    from retrieval.index.store import prepare_data_dir
    from retrieval.service import build_embeddings

    prepare_data_dir(settings.data_dir)
    embeddings = build_embeddings(settings)
    bar, update = progress_bar(err, description)
    with bar:
        report = ingest(settings, paths, embeddings, update)
    for problem in report.problems:
        err.print(f"kilde: skipped {safe_text(problem, one_line=True)}", markup=False)
    err.print(f"kilde: index: {safe_text(report.summary(), one_line=True)}", markup=False)
    return report


def ensure_index(settings: Settings) -> None:
    """Index the articles on first use, and again (incrementally) when they changed.

    The articles are those the index was built from (`kilde ingest PATH` chooses them), unless KILDE_CORPUS_DIR is
    set to others on purpose; a new index takes the corpus setting. The default corpus never switches an index to
    other articles, so a question never deletes any by itself.
    """
    from retrieval.index.corpus import indexed_corpus
    from retrieval.index.datadir import is_writable
    from retrieval.index.ingest import is_stale
    from retrieval.index.store import prepare_data_dir, read_state

    if not settings.chroma_url:
        prepare_data_dir(settings.data_dir)
    corpus = indexed_corpus(settings)
    if corpus.note:
        err.print(f"kilde: {safe_text(corpus.note, one_line=True)}", markup=False)
    if corpus.missing:
        err.print(
            f"kilde: {safe_text(str(corpus.missing[0]), one_line=True)} is gone; answering from the index as it is",
            markup=False,
        )
        return
    if not settings.corpus_dir.is_dir() and corpus.paths == [settings.corpus_dir]:
        raise KildeError(f"corpus directory {settings.corpus_dir} does not exist (set KILDE_CORPUS_DIR)")
    if not is_stale(settings, corpus.paths):
        return
    first = not read_state(settings.data_dir).get("corpus_fingerprint")
    shown = safe_text(", ".join(str(p) for p in corpus.paths), one_line=True)
    if not first and not settings.chroma_url and not is_writable(settings.data_dir):
        err.print(
            f"kilde: {shown} changed, but the data directory is read-only; answering from the index as it is",
            markup=False,
        )
        return
    if first:
        err.print(f"kilde: indexing {shown} for the first time …", markup=False)
        run_ingest(settings, corpus.paths)
        return
    err.print(f"kilde: {shown} changed since the last index; updating it …", markup=False)
    try:
        run_ingest(settings, corpus.paths)
    except StoreError as exc:  # a full disk, a damaged cache, a lock held long: the old index still answers
        err.print(
            f"kilde: {safe_text(str(exc), one_line=True)}; answering from the index as it is", markup=False
        )
