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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.index.store import Index, fingerprint_of, read_state
from retrieval.langid import detect_language

STATE_KEY = "read_snapshot"  # in state.json: {"collection", "stamp", "dir"} of the copy ingest last completed
META_FILE = "snapshot.json"
# The fewest articles a language needs before its vectors are moved (`LanguageShift`). Measured on the training
# newsroom articles with one of their two English articles left out: English questions about the one left found
# it first 1.00 -> 0.60 and 1.00 -> 0.44 of the time once moved; with both, 0.95 either way, and cross-language
# questions gained (0.25 -> 0.58).
MIN_ARTICLES = 2


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
        of_doc = _language_of_doc(chunk_metas, languages)
        sentence_languages = [of_doc.get(m.get("doc_id"), "") for m in sentence_metas]
        meta = {
            "stamp": stamp,
            "embedder": index.embedder,
            "chunks": {"ids": chunk_ids, "texts": chunk_texts, "metadatas": chunk_metas, "languages": languages},
            "sentences": {"ids": sentence_ids, "texts": sentence_texts, "metadatas": sentence_metas},
            "language_shift": {
                "chunks": LanguageShift.fit(chunk_vectors, languages, _docs(chunk_metas)).to_json(),
                "sentences": LanguageShift.fit(sentence_vectors, sentence_languages, _docs(sentence_metas)).to_json(),
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
        self.language_of_doc = _language_of_doc(self.chunk_metas, self.chunk_languages)  # HybridSearch reads it
        saved = meta.get("language_shift")
        dims = self.unit_vectors.shape[1] if self.unit_vectors.ndim == 2 else 0
        self.language_shift = (
            LanguageShift.from_json(saved["chunks"], dims)
            if saved
            else LanguageShift.fit(self.unit_vectors, self.chunk_languages, _docs(self.chunk_metas))
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
        return LanguageShift.fit(self.sentence_vectors, languages, _docs(self.sentence_metas))


def _language_of_doc(metadatas: Sequence[dict[str, Any]], languages: Sequence[str]) -> dict[Any, str]:
    return {m.get("doc_id"): lang for m, lang in zip(metadatas, languages, strict=True) if lang}


def _docs(metadatas: Sequence[dict[str, Any]]) -> list[str]:
    return [str(m.get("doc_id")) for m in metadatas]


def _rows_by_doc(metadatas: Sequence[dict[str, Any]]) -> dict[Any, list[int]]:
    rows: dict[Any, list[int]] = {}
    for i, meta in enumerate(metadatas):
        rows.setdefault(meta.get("doc_id"), []).append(i)
    return rows


def chunk_languages(texts: Sequence[str], metadatas: Sequence[dict[str, Any]]) -> list[str]:
    """Each chunk's language: its article's, told from the start of the article's body."""
    bodies: dict[Any, list[str]] = {}
    for text, meta in zip(texts, metadatas, strict=True):
        if meta.get("kind") == "body":
            bodies.setdefault(meta.get("doc_id"), []).append(text)
    language = {doc: str(detect_language(" ".join(parts)[:2000])) for doc, parts in bodies.items()}
    return [language.get(meta.get("doc_id"), "") for meta in metadatas]


@dataclass(frozen=True)
class LanguageShift:
    """Where the articles are in two languages, a multilingual embedder puts a question closer to any text of its
    own language than to the same content in the other. Moving each language's vectors so that their mean is the
    mean of all removes that pull (Libovický et al. 2020, "On the language neutrality of pre-trained multilingual
    representations"); the ranking within one language is unchanged, and over articles in one language nothing
    moves. On the training newsroom articles (tuning questions, 49 Danish and 11 English chunks) the right article
    among the 5 nearest chunks rose from 0.72 to 0.95 of cross-language questions, same-language ones unchanged.
    Worked out at ingest (`write`) and saved with the copy: a question never reads every vector."""

    languages: tuple[str, ...]
    shifts: np.ndarray  # per language, the mean of all vectors minus the mean of that language's; none: no move

    @classmethod
    def fit(cls, vectors: np.ndarray, languages: Sequence[str], articles: Sequence[str]) -> LanguageShift:
        """`languages` and `articles` per row; "" (an article with no body) is left where it is. Nothing moves
        unless every language has `MIN_ARTICLES` articles: one article's mean is as much its subject as its
        language, and moving it away from that takes its own readers' questions away from it."""
        names = sorted(set(languages) - {""})
        dims = vectors.shape[1] if vectors.ndim == 2 else 0
        none = cls((), np.zeros((0, dims)))
        if len(names) < 2 or not len(languages) == len(articles) == len(vectors):
            return none
        counts = {name: len({a for a, lang in zip(articles, languages, strict=True) if lang == name}) for name in names}
        if min(counts.values()) < MIN_ARTICLES:
            return none
        index = {name: i for i, name in enumerate(names)}
        rows = np.fromiter((index.get(lang, -1) for lang in languages), dtype=np.intp, count=len(languages))
        sums, sizes = np.zeros((len(names), dims)), np.zeros(len(names))
        for start in range(0, len(rows), 16384):  # a block at a time: the vectors may be a large file, mapped
            block = np.asarray(vectors[start : start + 16384], dtype=np.float64)
            block /= np.where((norms := np.linalg.norm(block, axis=1, keepdims=True)) > 0, norms, 1)
            for i in range(len(names)):
                here = rows[start : start + 16384] == i
                sums[i] += block[here].sum(axis=0)
                sizes[i] += here.sum()
        return cls(tuple(names), sums.sum(axis=0) / sizes.sum() - sums / sizes[:, None])

    def to_json(self) -> dict[str, Any]:
        return {"languages": list(self.languages), "shifts": self.shifts.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any], dims: int) -> LanguageShift:
        if not data["languages"]:
            return cls((), np.zeros((0, dims)))
        shifts = np.asarray(data["shifts"], dtype=np.float64).reshape(-1, dims)
        if len(shifts) != len(data["languages"]):
            raise ValueError("a language shift of another shape")
        return cls(tuple(data["languages"]), shifts)

    def moves(self, languages: Sequence[str]) -> np.ndarray:
        """What is added to vectors in these languages."""
        padded = np.vstack([self.shifts, np.zeros((1, self.shifts.shape[1]))])
        return np.asarray(padded[self.rows(languages)])

    def rows(self, languages: Sequence[str]) -> np.ndarray:
        """Each language's row in `shifts`, -1 (no move) for one it has none for."""
        index = {name: i for i, name in enumerate(self.languages)}
        return np.fromiter((index.get(lang, -1) for lang in languages), dtype=np.intp, count=len(languages))

    def offsets(self, query: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """What the similarity to the (unit) query of vectors at `rows` (of `rows()`) gains by the move."""
        return np.asarray(np.append(self.shifts @ query, 0.0)[rows])
