"""What the answer path reads from Chroma, saved at ingest as numpy arrays and JSON, so a local question needs
neither chromadb nor Chroma's start-up (together about a second of a cold `kilde ask`).

Chroma stays the store of record: ingest writes it first and this copy after, and a server index
(`KILDE_CHROMA_URL`) is always read from Chroma. The copy is trusted only while `state.json` names it: ingest
withdraws the name before it changes Chroma and sets it once the copy is rewritten, so an interrupted ingest falls
back to Chroma rather than answer from a stale copy.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.index.datadir import fresh_directory
from retrieval.index.store import Index, fingerprint_of, read_state, write_state

STATE_KEY = (
    "read_snapshot"  # in state.json: {"collection": ..., "stamp": ...} of the copy ingest last completed
)
META_FILE = "snapshot.json"


def snapshot_path(data_dir: Path, collection: str) -> Path:
    return data_dir / "snapshot" / collection


def withdraw(data_dir: Path) -> None:
    """Before ingest changes Chroma: until the copy is rewritten, questions are answered from Chroma."""
    state = read_state(data_dir)
    if state.pop(STATE_KEY, None) is not None:
        write_state(data_dir, state)


def write(index: Index, data_dir: Path) -> None:
    """Copy every chunk and sentence (text, metadata, vector) of `index`, in Chroma's order, and name the copy."""
    chunk_ids, chunk_texts, chunk_metas, chunk_vectors = index.all_rows(index.chunks)
    sentence_ids, sentence_texts, sentence_metas, sentence_vectors = index.all_rows(index.sentences)
    stamp = f"{fingerprint_of(chunk_ids)}-{fingerprint_of(sentence_ids)}"
    with fresh_directory(snapshot_path(data_dir, index.name)) as fresh:
        np.save(fresh / "chunk_vectors.npy", chunk_vectors)
        np.save(fresh / "sentence_vectors.npy", sentence_vectors)
        meta = {
            "stamp": stamp,
            "embedder": index.embedder,
            "chunks": {"ids": chunk_ids, "texts": chunk_texts, "metadatas": chunk_metas},
            "sentences": {"ids": sentence_ids, "texts": sentence_texts, "metadatas": sentence_metas},
        }
        (fresh / META_FILE).write_text(json.dumps(meta, ensure_ascii=False))
    state = read_state(data_dir)
    state[STATE_KEY] = {"collection": index.name, "stamp": stamp}
    write_state(data_dir, state)


class SnapshotIndex:
    """The read side of `Index` over the saved copy: the same rows, in the same order, and the same rankings."""

    def __init__(self, meta: dict[str, Any], chunk_vectors: np.ndarray, sentence_vectors: np.ndarray) -> None:
        chunks, sentences = meta["chunks"], meta["sentences"]
        self.chunk_ids: list[str] = chunks["ids"]
        self.chunk_texts: list[str] = chunks["texts"]
        self.chunk_metas: list[dict[str, Any]] = chunks["metadatas"]
        self.sentence_ids: list[str] = sentences["ids"]
        self.sentence_texts: list[str] = sentences["texts"]
        self.sentence_metas: list[dict[str, Any]] = sentences["metadatas"]
        self.sentence_vectors = sentence_vectors
        # Chroma's cosine space compares unit vectors; normalised once here, a search is one product.
        norms = np.linalg.norm(chunk_vectors, axis=1, keepdims=True)
        self.unit_vectors = chunk_vectors / np.where(norms > 0, norms, 1)
        self.chunk_row = {cid: i for i, cid in enumerate(self.chunk_ids)}
        self.chunk_rows_of = _rows_by_doc(self.chunk_metas)  # doc_parts runs on every question: no scan there
        self.sentence_rows_of = _rows_by_doc(self.sentence_metas)

    @classmethod
    def load(cls, data_dir: Path, collection: str, embedder: str) -> SnapshotIndex | None:
        """The copy ingest last completed for this collection and embedder, or None (then read Chroma)."""
        named = read_state(data_dir).get(STATE_KEY)
        if not isinstance(named, dict) or named.get("collection") != collection:
            return None
        path = snapshot_path(data_dir, collection)
        try:
            meta = json.loads((path / META_FILE).read_text())
            if meta.get("stamp") != named.get("stamp") or meta.get("embedder") != embedder:
                return None
            chunk_vectors = np.load(path / "chunk_vectors.npy", mmap_mode="r")
            sentence_vectors = np.load(path / "sentence_vectors.npy", mmap_mode="r")
            if len(chunk_vectors) != len(meta["chunks"]["ids"]) or len(sentence_vectors) != len(
                meta["sentences"]["ids"]
            ):
                return None
            return cls(meta, chunk_vectors, sentence_vectors)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def fingerprint(self) -> str:
        return fingerprint_of(self.chunk_ids)

    def sample_text(self, n: int = 50) -> str:
        body = [t for t, m in zip(self.chunk_texts, self.chunk_metas, strict=True) if m.get("kind") == "body"]
        return " ".join(body[:n])

    def all_chunks(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        return list(self.chunk_ids), list(self.chunk_texts), [dict(m) for m in self.chunk_metas]

    def dense_chunks(self, vector: list[float], k: int) -> list[tuple[str, str, dict[str, Any], float]]:
        """(chunk id, text, metadata, cosine similarity) of the `k` nearest chunks: exact, where Chroma's HNSW
        approximates (on a corpus this size it finds the same ones)."""
        if not self.chunk_ids:
            return []
        query = np.asarray(vector, dtype=np.float32)
        query = query / (np.linalg.norm(query) or 1.0)
        similarity = self.unit_vectors @ query
        top = np.argsort(-similarity, kind="stable")[:k]
        return [
            (self.chunk_ids[i], self.chunk_texts[i], dict(self.chunk_metas[i]), float(similarity[i]))
            for i in top
        ]

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """(text, metadata) of the given chunks that exist."""
        rows = [self.chunk_row[cid] for cid in ids if cid in self.chunk_row]
        return {self.chunk_ids[i]: (self.chunk_texts[i], dict(self.chunk_metas[i])) for i in rows}

    def document_metadatas(self) -> list[dict[str, Any]]:
        """The metadata of each document's front-matter chunk."""
        return [dict(m) for m in self.chunk_metas if m.get("kind") == "meta"]

    def doc_parts(self, doc_ids: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """All chunks and all sentences (with vectors) of the given documents, as Chroma's `get` returns them."""
        wanted = set(doc_ids)  # rows in stored order, as Chroma's `get` gives them
        chunk_rows = sorted(i for d in wanted for i in self.chunk_rows_of.get(d, ()))
        sentence_rows = sorted(i for d in wanted for i in self.sentence_rows_of.get(d, ()))
        chunks = {
            "ids": [self.chunk_ids[i] for i in chunk_rows],
            "documents": [self.chunk_texts[i] for i in chunk_rows],
            "metadatas": [dict(self.chunk_metas[i]) for i in chunk_rows],
        }
        sentences = {
            "ids": [self.sentence_ids[i] for i in sentence_rows],
            "documents": [self.sentence_texts[i] for i in sentence_rows],
            "metadatas": [dict(self.sentence_metas[i]) for i in sentence_rows],
            "embeddings": np.asarray(self.sentence_vectors[sentence_rows]),
        }
        return chunks, sentences


def _rows_by_doc(metadatas: Sequence[dict[str, Any]]) -> dict[Any, list[int]]:
    rows: dict[Any, list[int]] = {}
    for i, meta in enumerate(metadatas):
        rows.setdefault(meta.get("doc_id"), []).append(i)
    return rows
