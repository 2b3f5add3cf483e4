"""`kilde ingest --rebuild`: move a damaged index (and a damaged embedding cache) aside, so it can be built again."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from pathlib import Path

from retrieval.index.datadir import data_dir_errors
from retrieval.index.store import (
    check_writable,
    open_client,
    read_state,
    store_errors,
    write_lock,
    write_state,
)
from retrieval.settings import Settings

CACHE = "embeddings.sqlite3"


def cache_is_damaged(path: Path) -> bool:
    """Whether the embedding cache exists but cannot be read (a cache that reads is kept: it saves re-embedding)."""
    if not path.exists():
        return False
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as conn:
            ok = conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"
            conn.execute("SELECT count(*) FROM vectors").fetchone()
            return not ok
    except sqlite3.Error:
        return True


def set_aside(settings: Settings) -> Path | None:
    """Move the index, its BM25 files and a damaged embedding cache to `broken-<time>/` in the data directory.

    Returns that folder (None when there was nothing to move, or the index lives on a Chroma server, whose two
    collections are deleted instead). The recorded corpus paths are kept, so the rebuild indexes the same articles.
    """
    data = settings.data_dir
    if settings.chroma.url:
        client = open_client(settings)
        with write_lock(data):  # the lock ingest takes, so no ingest of ours writes meanwhile
            for suffix in ("chunks", "sentences"):
                with contextlib.suppress(Exception):  # a collection that is not there is what we want
                    client.delete_collection(f"{settings.collection}_{suffix}")
        return None
    check_writable(data)
    aside = data / time.strftime("broken-%Y%m%d-%H%M%S")
    with write_lock(data), data_dir_errors(f"cannot move the damaged index aside to {aside}"):
        parts = [settings.chroma_dir, data / "bm25"]
        if cache_is_damaged(data / CACHE):
            parts += [data / CACHE, data / f"{CACHE}-wal", data / f"{CACHE}-shm"]
        moved = False
        for part in parts:
            if part.exists():
                aside.mkdir(exist_ok=True)
                part.rename(aside / part.name)
                moved = True
        state = read_state(data)
        if state.pop("corpus_fingerprint", None) is not None:  # an interrupted rebuild must not look current
            write_state(data, state)
    _forget_open_clients()
    return aside if moved else None


def _forget_open_clients() -> None:
    """Chroma keeps one client per path for the whole process; the one for the moved index must not be reused."""
    # The concrete ClientAPI: calling the abstract ClientAPI.clear_system_cache would do nothing.
    from chromadb.api.client import Client

    with store_errors("cannot reset the index client"):
        Client.clear_system_cache()
