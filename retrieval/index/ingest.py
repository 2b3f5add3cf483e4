"""Indexing: read the articles, chunk them, and bring the Chroma index in line, re-embedding only what changed."""

from __future__ import annotations

import contextlib
import hashlib
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, cast

from retrieval.errors import StoreError
from retrieval.index import lexical, snapshot
from retrieval.index.articles import find_files, load_articles
from retrieval.index.datadir import FULL, data_dir_errors, hint
from retrieval.index.embeddings import Embedder
from retrieval.index.store import (
    Index,
    IngestReport,
    Progress,
    check_writable,
    open_client,
    read_state,
    write_lock,
    write_state,
)
from retrieval.langid import detect_language
from retrieval.settings import Settings
from retrieval.types import Language

LOW_SPACE_BYTES = 64 * 1024 * 1024
CORPUS_LANGUAGE = "corpus_language"  # in state.json: {"lexical": the BM25 key it was told for, "language": ...}


def corpus_fingerprint(paths: Sequence[Path], settings: Settings) -> str:
    """Cheap: file names, sizes and modification times, plus the settings that shape chunks."""
    digest = hashlib.sha256(
        f"{settings.embedder_id}|{settings.chunk_tokens}|{settings.chunk_overlap_tokens}".encode()
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
    embeddings: Embedder,
    progress: Progress | None = None,
    index: Index | None = None,
    *,
    on_articles: Progress | None = None,
) -> IngestReport:
    if not settings.chroma.url:
        check_writable(settings.data_dir)
    with write_lock(settings.data_dir), _disk_full_hint(settings.data_dir):
        index = index or Index(open_client(settings), embeddings, settings.collection, settings.embedder_id)
        articles, problems = load_articles(paths)
        if not settings.chroma.url:
            snapshot.withdraw(settings.data_dir)
        report = index.sync(
            articles, problems, settings.chunk_tokens, settings.chunk_overlap_tokens, progress,
            chunk_vectors=settings.chunk_vectors,
            on_articles=on_articles,
        )
        with data_dir_errors(f"cannot update the index in {settings.data_dir}"):
            # Bring the saved BM25 index up to date now, so the next question does not pay for it.
            started = time.perf_counter()
            bm25 = lexical.lexical_path(settings.data_dir, settings.collection)
            lexical.refresh(index, bm25)
            report.lexical_seconds = time.perf_counter() - started
            if not settings.chroma.url:  # a server's index is always read from Chroma
                snapshot.write(index, settings.data_dir)
            state = read_state(settings.data_dir)
            key = lexical.saved_key(bm25)
            if key is not None and stored_language(state, key) is None:
                language = detect_language(index.sample_text()) if index.count() else "da"
                state[CORPUS_LANGUAGE] = {"lexical": key, "language": language}
            state["corpus_fingerprint"] = corpus_fingerprint(paths, settings)
            state["paths"] = [str(p.resolve()) for p in paths]
            write_state(settings.data_dir, state)
    return report


@contextlib.contextmanager
def _disk_full_hint(data_dir: Path) -> Iterator[None]:
    """Chroma does not always say that the disk is full ("Failed to apply logs"); free space does."""
    try:
        yield
    except StoreError as exc:
        free = shutil.disk_usage(data_dir).free if data_dir.exists() else None
        if hint(str(exc)) is None and free is not None and free < LOW_SPACE_BYTES:
            raise StoreError(f"{exc}; the disk has only {free // 1024:,} KB free: {FULL}") from None
        raise


def stored_language(state: dict[str, Any], lexical_key: str) -> Language | None:
    """The corpus language ingest recorded, if it was recorded for the index with this BM25 key."""
    saved = state.get(CORPUS_LANGUAGE)
    if isinstance(saved, dict) and saved.get("lexical") == lexical_key and saved.get("language") in ("da", "en"):
        return cast("Language", saved["language"])
    return None


def is_stale(settings: Settings, paths: Sequence[Path]) -> bool:
    return read_state(settings.data_dir).get("corpus_fingerprint") != corpus_fingerprint(paths, settings)
