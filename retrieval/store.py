"""The Chroma index: one collection of chunks, one of single sentences, kept in sync with the articles."""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import chromadb
import numpy as np
from chromadb.api import ClientAPI
from chromadb.config import Settings as ChromaSettings
from langchain_chroma import Chroma
from langchain_core.embeddings import Embeddings

from retrieval.chunking import Chunk, Sentence, chunk_article, sentence_records
from retrieval.documents import Article, Problem
from retrieval.errors import StoreError
from retrieval.settings import Settings, default_data_dir

Progress = Callable[[int, int], None]  # (done, total)
BATCH = 64


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    chunks_added: int = 0
    chunks_deleted: int = 0
    problems: list[Problem] = field(default_factory=list)
    rebuilt: bool = False
    seconds: float = 0.0

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    def summary(self) -> str:
        return (
            f"{len(self.added)} added, {len(self.updated)} updated, {len(self.deleted)} deleted, "
            f"{len(self.skipped)} skipped ({self.chunks_added} chunks embedded, {self.chunks_deleted} removed"
            f"{', index rebuilt for a new embedder' if self.rebuilt else ''}) in {self.seconds:.1f} s"
        )


@contextlib.contextmanager
def store_errors(what: str) -> Iterator[None]:
    """Turn whatever Chroma or SQLite raise into one StoreError line."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        if "locked" in detail.lower():
            raise StoreError(f"{what}: the index is locked by another process; try again") from None
        raise StoreError(f"{what}: {detail[:300]}") from None


def open_client(settings: Settings) -> ClientAPI:
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma_url:
        return _http_client(settings, chroma_settings)
    path = settings.chroma_dir
    prepare_data_dir(settings.data_dir)
    sqlite = path / "chroma.sqlite3"
    if sqlite.exists():
        with sqlite.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise StoreError(f"the index at {path} is corrupt; move it away and run `kilde ingest`")
    with store_errors(f"cannot open the index at {path}"):
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def _http_client(settings: Settings, chroma_settings: ChromaSettings) -> ClientAPI:
    from urllib.parse import urlparse

    assert settings.chroma_url is not None
    url = urlparse(settings.chroma_url)
    headers = {}
    if settings.chroma_token is not None:
        headers["Authorization"] = f"Bearer {settings.chroma_token.get_secret_value()}"
    with store_errors(f"cannot reach the Chroma server at {url.scheme}://{url.hostname}:{url.port}"):
        client = chromadb.HttpClient(
            host=url.hostname or "localhost",
            port=url.port or (443 if url.scheme == "https" else 8000),
            ssl=url.scheme == "https",
            headers=headers,
            settings=chroma_settings,
        )
        client.heartbeat()
        return client


class Index:
    """Chunks and sentences of every article, with their vectors, in two Chroma collections."""

    def __init__(self, client: ClientAPI, embeddings: Embeddings, name: str, embedder: str) -> None:
        self.client = client
        self.embeddings = embeddings
        self.name = name
        self.embedder = embedder
        self.chunks = self._collection(f"{name}_chunks")
        self.sentences = self._collection(f"{name}_sentences")

    def _collection(self, name: str) -> Chroma:
        with store_errors(f"cannot open collection {name}"):
            return Chroma(
                collection_name=name,
                embedding_function=self.embeddings,
                client=self.client,
                collection_metadata={"embedder": self.embedder},
                collection_configuration={"hnsw": {"space": "cosine"}},
            )

    def _embedder_mismatch(self) -> bool:
        with store_errors("cannot read the index"):
            meta = self.chunks._collection.metadata or {}
            return bool(meta.get("embedder")) and meta.get("embedder") != self.embedder and self.count() > 0

    def count(self) -> int:
        with store_errors("cannot read the index"):
            return int(self.chunks._collection.count())

    def ids_by_doc(self, store: Chroma) -> dict[str, set[str]]:
        by_doc: dict[str, set[str]] = defaultdict(set)
        with store_errors("cannot read the index"):
            total = store._collection.count()
            for offset in range(0, total, 5000):
                got = store.get(include=["metadatas"], limit=5000, offset=offset)
                for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                    by_doc[str((meta or {}).get("doc_id", ""))].add(cid)
        return by_doc

    def fingerprint(self) -> str:
        """Changes whenever any chunk is added or removed."""
        ids: list[str] = []
        with store_errors("cannot read the index"):
            total = self.chunks._collection.count()
            for offset in range(0, total, 5000):
                ids.extend(self.chunks.get(include=[], limit=5000, offset=offset)["ids"])
        return hashlib.sha256("\n".join(sorted(ids)).encode()).hexdigest()[:16]

    def sync(
        self,
        articles: Sequence[Article],
        problems: Sequence[Problem],
        chunk_tokens: int,
        overlap_tokens: int,
        progress: Progress | None = None,
    ) -> IngestReport:
        """Make the index hold exactly `articles`; files with problems keep what they had."""
        started = time.perf_counter()
        report = IngestReport(problems=list(problems))
        if self._embedder_mismatch():
            with store_errors("cannot rebuild the index"):
                for store in (self.chunks, self.sentences):
                    store.reset_collection()
            report.rebuilt = True
        keep = {p.path.stem for p in problems}
        new_chunks = {a.doc_id: chunk_article(a, chunk_tokens, overlap_tokens) for a in articles}
        new_sentences = {a.doc_id: sentence_records(a) for a in articles}
        old_chunks = self.ids_by_doc(self.chunks)
        old_sentences = self.ids_by_doc(self.sentences)

        add_chunks: list[Chunk] = []
        add_sentences: list[Sentence] = []
        drop_chunks: list[str] = []
        drop_sentences: list[str] = []
        for article in articles:
            doc = article.doc_id
            chunk_ids = {c.chunk_id for c in new_chunks[doc]}
            sentence_ids = {s.sentence_id for s in new_sentences[doc]}
            if chunk_ids == old_chunks.get(doc, set()) and sentence_ids == old_sentences.get(doc, set()):
                report.skipped.append(doc)
                continue
            (report.updated if doc in old_chunks else report.added).append(doc)
            add_chunks += [c for c in new_chunks[doc] if c.chunk_id not in old_chunks.get(doc, set())]
            add_sentences += [
                s for s in new_sentences[doc] if s.sentence_id not in old_sentences.get(doc, set())
            ]
            drop_chunks += sorted(old_chunks.get(doc, set()) - chunk_ids)
            drop_sentences += sorted(old_sentences.get(doc, set()) - sentence_ids)
        for doc in sorted(set(old_chunks) - set(new_chunks) - keep):
            report.deleted.append(doc)
            drop_chunks += sorted(old_chunks[doc])
            drop_sentences += sorted(old_sentences.get(doc, set()))

        total = len(add_chunks) + len(add_sentences)
        done = 0
        if progress:
            progress(0, total)
        # Add before deleting: an interrupted sync leaves extra rows, never missing ones, and the next one mends it.
        with store_errors("cannot write to the index"):
            for i in range(0, len(add_chunks), BATCH):
                batch = add_chunks[i : i + BATCH]
                self.chunks.add_texts(
                    [c.text for c in batch],
                    [dict(c.metadata) for c in batch],
                    ids=[c.chunk_id for c in batch],
                )
                done += len(batch)
                if progress:
                    progress(done, total)
            for i in range(0, len(add_sentences), BATCH):
                sbatch = add_sentences[i : i + BATCH]
                self.sentences.add_texts(
                    [s.text for s in sbatch],
                    [dict(s.metadata) for s in sbatch],
                    ids=[s.sentence_id for s in sbatch],
                )
                done += len(sbatch)
                if progress:
                    progress(done, total)
            for store, ids in ((self.chunks, drop_chunks), (self.sentences, drop_sentences)):
                for i in range(0, len(ids), 5000):
                    store.delete(ids=ids[i : i + 5000])
        report.chunks_added = len(add_chunks)
        report.chunks_deleted = len(drop_chunks)
        report.seconds = time.perf_counter() - started
        return report

    def dense_chunks(self, vector: list[float], k: int) -> list[tuple[str, str, dict[str, Any], float]]:
        """(chunk id, text, metadata, cosine similarity) of the `k` nearest chunks."""
        with store_errors("cannot search the index"):
            got = self.chunks._collection.query(
                query_embeddings=[np.asarray(vector, dtype=np.float32)],  # type: ignore[arg-type]
                n_results=k,
                include=["documents", "metadatas", "distances"],
            )
        return [
            (cid, doc or "", dict(meta or {}), 1.0 - float(dist))
            for cid, doc, meta, dist in zip(
                got["ids"][0],
                (got["documents"] or [[]])[0],
                (got["metadatas"] or [[]])[0],
                (got["distances"] or [[]])[0],
                strict=True,
            )
        ]

    def sample_text(self, n: int = 50) -> str:
        """Some article text, to tell the corpus language."""
        with store_errors("cannot read the index"):
            got = self.chunks.get(where={"kind": "body"}, limit=n, include=["documents"])
        return " ".join(d or "" for d in got["documents"])

    def all_chunks(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        with store_errors("cannot read the index"):
            total = self.chunks._collection.count()
            for offset in range(0, total, 5000):
                got = self.chunks.get(include=["documents", "metadatas"], limit=5000, offset=offset)
                ids += got["ids"]
                texts += [d or "" for d in got["documents"]]
                metas += [dict(m or {}) for m in got["metadatas"]]
        return ids, texts, metas

    def doc_parts(self, doc_ids: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """All chunks and all sentences (with vectors) of the given documents."""
        where: Any = {"doc_id": {"$in": list(doc_ids)}}
        with store_errors("cannot read the index"):
            chunks = self.chunks.get(where=where, include=["documents", "metadatas"])
            sentences = self.sentences.get(where=where, include=["documents", "metadatas", "embeddings"])
        return chunks, sentences


def prepare_data_dir(data_dir: Path) -> None:
    """Create the data directory if its parent exists; a path whose parent is missing is a mistake, not a wish."""
    if data_dir.is_dir():
        return
    if data_dir.exists():
        raise StoreError(f"data directory {data_dir} is not a directory")
    if data_dir == default_data_dir():
        data_dir.parent.mkdir(parents=True, exist_ok=True)
    if not data_dir.parent.exists():
        raise StoreError(f"data directory {data_dir} does not exist (nor does {data_dir.parent})")
    try:
        data_dir.mkdir()
    except OSError as exc:
        raise StoreError(f"cannot create data directory {data_dir}: {exc.strerror}") from None


@contextlib.contextmanager
def write_lock(data_dir: Path, timeout: float = 120.0) -> Iterator[None]:
    """One writer at a time per data directory, across processes."""
    prepare_data_dir(data_dir)
    try:
        handle = (data_dir / "ingest.lock").open("a+")
    except OSError as exc:
        raise StoreError(f"cannot write to data directory {data_dir}: {exc.strerror}") from None
    deadline = time.monotonic() + timeout
    with handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(f"the index in {data_dir} is locked by another kilde process") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_writable(data_dir: Path) -> None:
    if data_dir.exists() and not os.access(data_dir, os.W_OK):
        raise StoreError(f"data directory {data_dir} is read-only")


def read_state(data_dir: Path) -> dict[str, Any]:
    try:
        loaded = json.loads((data_dir / "state.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def write_state(data_dir: Path, state: dict[str, Any]) -> None:
    tmp = data_dir / "state.json.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(data_dir / "state.json")
