"""Indexing: read the articles, chunk them, and bring the Chroma index in line, re-embedding only what changed."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Sequence
from pathlib import Path

from langchain_core.embeddings import Embeddings

from retrieval import lexical
from retrieval.documents import find_files, load_articles
from retrieval.settings import Settings
from retrieval.store import (
    Index,
    IngestReport,
    Progress,
    check_writable,
    open_client,
    read_state,
    write_lock,
    write_state,
)


def corpus_fingerprint(paths: Sequence[Path], settings: Settings) -> str:
    """Cheap: file names, sizes and modification times, plus the settings that shape chunks."""
    digest = hashlib.sha256(
        f"{settings.embedder}|{settings.chunk_tokens}|{settings.chunk_overlap_tokens}".encode()
    )
    for path in find_files(paths):
        try:
            stat = path.stat()
        except OSError:
            continue
        digest.update(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:16]


def ingest(
    settings: Settings,
    paths: Sequence[Path],
    embeddings: Embeddings,
    progress: Progress | None = None,
    index: Index | None = None,
) -> IngestReport:
    if not settings.chroma_url:
        check_writable(settings.data_dir)
    with write_lock(settings.data_dir):
        index = index or Index(open_client(settings), embeddings, settings.collection, settings.embedder)
        articles, problems = load_articles(paths)
        report = index.sync(
            articles, problems, settings.chunk_tokens, settings.chunk_overlap_tokens, progress
        )
        # Bring the saved BM25 index up to date now, so the next question does not pay for it.
        started = time.perf_counter()
        lexical.refresh(index, lexical.lexical_path(settings.data_dir, settings.collection))
        report.lexical_seconds = time.perf_counter() - started
        state = read_state(settings.data_dir)
        state["corpus_fingerprint"] = corpus_fingerprint(paths, settings)
        state["paths"] = [str(p.resolve()) for p in paths]
        write_state(settings.data_dir, state)
    return report


def is_stale(settings: Settings, paths: Sequence[Path]) -> bool:
    return read_state(settings.data_dir).get("corpus_fingerprint") != corpus_fingerprint(paths, settings)
