"""What the answer path reads from Chroma, saved at ingest as numpy arrays and JSON, so a local question needs
neither chromadb nor Chroma's start-up (together about a second of a cold `kilde ask`).

Chroma stays the store of record: ingest writes it first and this copy after, and a server index
(`KILDE_CHROMA_URL`) is always read from Chroma. Each copy is written to a folder of its own and made current by
one replace of `state.json`, the same write that records the articles it holds; until then, and after an ingest
that failed or was killed, questions are answered from the copy of the last complete ingest, never from a Chroma
that holds half of an update.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.index.languages import LanguageShift, chunk_languages, docs_of, language_of_doc
from retrieval.index.store import Index, fingerprint_of, read_state

STATE_KEY = "read_snapshot"  # in state.json: {"collection", "stamp", "dir"} of the copy ingest last completed
META_FILE = "snapshot.json"


def snapshot_root(data_dir: Path, collection: str) -> Path:
    return data_dir / "snapshot" / collection


def write(index: Index, data_dir: Path) -> dict[str, str]:
    """Copy every chunk and sentence (text, metadata, vector) of `index`, in Chroma's order, to a new folder.

    Returns what names it in state.json (under `STATE_KEY`): the caller makes it current with the rest of the
    ingest's state, in one write.
    """
    chunk_ids, chunk_texts, chunk_metas, chunk_vectors = index.all_rows(index.chunks)
    sentence_ids, sentence_texts, sentence_metas, sentence_vectors = index.all_rows(index.sentences)
    stamp = f"{fingerprint_of(chunk_ids)}-{fingerprint_of(sentence_ids)}"
    name = f"{stamp}-{time.time_ns():x}"  # never an existing folder: a reader may have that one open
    root = snapshot_root(data_dir, index.name)
    root.mkdir(parents=True, exist_ok=True)
    fresh = root / f".{name}.new"
    try:
        fresh.mkdir()
        np.save(fresh / "chunk_vectors.npy", chunk_vectors)
        np.save(fresh / "sentence_vectors.npy", sentence_vectors)
        languages = chunk_languages(chunk_texts, chunk_metas)
        of_doc = language_of_doc(chunk_metas, languages)
        sentence_languages = [of_doc.get(m.get("doc_id"), "") for m in sentence_metas]
        meta = {
            "stamp": stamp,
            "embedder": index.embedder,
            "chunks": {"ids": chunk_ids, "texts": chunk_texts, "metadatas": chunk_metas, "languages": languages},
            "sentences": {"ids": sentence_ids, "texts": sentence_texts, "metadatas": sentence_metas},
            "language_shift": {
                "chunks": LanguageShift.fit(chunk_vectors, languages, docs_of(chunk_metas)).to_json(),
                "sentences": LanguageShift.fit(sentence_vectors, sentence_languages, docs_of(sentence_metas)).to_json(),
            },
        }
        (fresh / META_FILE).write_text(json.dumps(meta, ensure_ascii=False))
        fresh.rename(root / name)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
    return {"collection": index.name, "stamp": stamp, "dir": name}


def prune(data_dir: Path, collection: str, keep: Sequence[object]) -> None:
    """Remove the copies no longer named (left by earlier or interrupted ingests), except those in `keep`.

    The copy that was current until just now is kept too (pass it in `keep`): a question that read the old
    state.json a moment ago may still be opening it.
    """
    names = {str(k["dir"]) for k in keep if isinstance(k, dict) and k.get("collection") == collection and "dir" in k}
    root = snapshot_root(data_dir, collection)
    if not root.is_dir():
        return
    for entry in root.iterdir():
        if entry.name in names:
            continue
        if entry.is_dir() and not entry.is_symlink():
            shutil.rmtree(entry, ignore_errors=True)
        else:
            with contextlib.suppress(OSError):
                entry.unlink()


def current(data_dir: Path) -> dict[str, Any] | None:
    named = read_state(data_dir).get(STATE_KEY)
    return named if isinstance(named, dict) else None


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
        self.chunk_languages = chunks.get("languages") or chunk_languages(self.chunk_texts, self.chunk_metas)
        self.language_of_doc = language_of_doc(self.chunk_metas, self.chunk_languages)  # HybridSearch reads it
        saved = meta.get("language_shift")
        dims = self.unit_vectors.shape[1] if self.unit_vectors.ndim == 2 else 0
        self.language_shift = (
            LanguageShift.from_json(saved["chunks"], dims)
            if saved
            else LanguageShift.fit(self.unit_vectors, self.chunk_languages, docs_of(self.chunk_metas))
        )
        self.chunk_shift_rows = self.language_shift.rows(self.chunk_languages)
        self.sentence_shift = (
            LanguageShift.from_json(saved["sentences"], dims) if saved else self._fit_sentence_shift()
        )
        self.chunk_row = {cid: i for i, cid in enumerate(self.chunk_ids)}
        self.chunk_rows_of = _rows_by_doc(self.chunk_metas)  # doc_parts runs on every question: no scan there
        self.sentence_rows_of = _rows_by_doc(self.sentence_metas)

    @classmethod
    def load(cls, data_dir: Path, collection: str, embedder: str) -> SnapshotIndex | None:
        """The copy ingest last completed for this collection and embedder, or None (then read Chroma)."""
        for _attempt in range(2):  # an ingest that finished meanwhile may have removed the copy just named
            named = current(data_dir)
            if named is None or named.get("collection") != collection or not isinstance(named.get("dir"), str):
                return None
            path = snapshot_root(data_dir, collection) / os.path.basename(named["dir"])
            if path.is_dir():
                return cls._load(path, named, embedder)
        return None

    @classmethod
    def _load(cls, path: Path, named: dict[str, Any], embedder: str) -> SnapshotIndex | None:
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
        approximates (on a corpus this size it finds the same ones), ranked across languages (`LanguageShift`)."""
        if not self.chunk_ids:
            return []
        query = np.asarray(vector, dtype=np.float32)
        query = query / (np.linalg.norm(query) or 1.0)
        similarity = self.unit_vectors @ query
        ranking = similarity + self.language_shift.offsets(query, self.chunk_shift_rows)
        top = np.argsort(-ranking, kind="stable")[:k]
        return [
            (self.chunk_ids[i], self.chunk_texts[i], dict(self.chunk_metas[i]), float(similarity[i])) for i in top
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
            "embeddings": self.sentence_vectors[sentence_rows]
            + self.sentence_shift.moves([self.language_of_doc.get(self.sentence_metas[i].get("doc_id"), "") for i in sentence_rows]),
        }
        return chunks, sentences

    def _fit_sentence_shift(self) -> LanguageShift:
        """For a copy saved before shifts were (reads every sentence vector once)."""
        languages = [self.language_of_doc.get(m.get("doc_id"), "") for m in self.sentence_metas]
        return LanguageShift.fit(self.sentence_vectors, languages, docs_of(self.sentence_metas))


def _rows_by_doc(metadatas: Sequence[dict[str, Any]]) -> dict[Any, list[int]]:
    rows: dict[Any, list[int]] = {}
    for i, meta in enumerate(metadatas):
        rows.setdefault(meta.get("doc_id"), []).append(i)
    return rows
