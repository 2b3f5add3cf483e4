"""BM25 over chunks with a Danish stemmer (bm25s + PyStemmer), persisted next to the vector index."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import logging
import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from retrieval.index.datadir import fresh_directory
from retrieval.index.store import Index, fingerprint_of
from retrieval.text import STOPWORDS, stem, words

# bm25s draws its progress bars with tqdm, which kilde never shows: without its DISABLE_TQDM (read as bm25s loads)
# it imports tqdm, and tqdm asyncio and its package metadata (~25 ms of a cold `kilde ask`), and every search opens
# a hidden bar whose monitor thread cost a tenth of a second on a busy machine.
os.environ.setdefault("DISABLE_TQDM", "1")
import bm25s

# Bump when tokenisation changes, so saved BM25 indexes are rebuilt.
LEXICAL_VERSION = 4

logging.getLogger("bm25s").setLevel(logging.WARNING)
EMPTY = "\x00empty"  # the one term of a chunk without any
TERMS_FILE = "terms.npz"  # every chunk's terms, so a rebuild only reads and stems the chunks that are new


@functools.cache
def terms_version() -> str:
    """Saved terms are reused only by the same tokeniser: this version and the same text and lexical code."""
    from retrieval import text
    digest = hashlib.sha256(str(LEXICAL_VERSION).encode())
    for source in (Path(str(text.__file__)), Path(__file__)):
        with contextlib.suppress(OSError):
            digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


# Stemming runs once per distinct word, not once per occurrence: most of the cost of indexing a large corpus.
_stem = functools.lru_cache(maxsize=1 << 18)(stem)


def terms(text: str) -> list[str]:
    """Stemmed content words, repeats kept (BM25 counts them)."""
    return [_stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


class Terms:
    """The terms of many chunks as one array of term numbers: compact to keep, quick to save and load."""

    def __init__(self, ids: list[str], vocab: list[str], flat: np.ndarray, offsets: np.ndarray) -> None:
        self.ids = ids
        self.vocab = vocab
        self.flat = flat  # term numbers of all chunks, one after the other
        self.offsets = offsets  # chunk i's terms are flat[offsets[i]:offsets[i + 1]]

    @classmethod
    def build(
        cls,
        ids: Sequence[str],
        tokenized: Callable[[int], list[str] | np.ndarray],
        vocab: list[str] | None = None,
    ) -> Terms:
        """`tokenized(i)` gives chunk i's terms, as strings or as numbers into `vocab`, which grows as needed."""
        words = list(vocab or [])
        number = {w: i for i, w in enumerate(words)}
        parts: list[np.ndarray] = []
        for i in range(len(ids)):
            got = tokenized(i)
            if isinstance(got, np.ndarray):
                parts.append(got)
                continue
            row = []
            for term in got or [EMPTY]:
                n = number.get(term)
                if n is None:
                    n = number[term] = len(words)
                    words.append(term)
                row.append(n)
            parts.append(np.asarray(row, dtype=np.uint32))
        lengths = np.fromiter((len(p) for p in parts), dtype=np.int64, count=len(parts))
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        flat = np.concatenate(parts).astype(np.uint32) if parts else np.zeros(0, dtype=np.uint32)
        return cls(list(ids), words, flat, offsets)._compact()

    def _compact(self) -> Terms:
        """Drop terms no chunk uses any more (left over from deleted chunks) and number the rest 0..n-1."""
        used = np.flatnonzero(np.bincount(self.flat, minlength=len(self.vocab)))
        if len(used) == len(self.vocab):
            return self
        renumber = np.zeros(len(self.vocab), dtype=np.uint32)
        renumber[used] = np.arange(len(used), dtype=np.uint32)
        return Terms(self.ids, [self.vocab[i] for i in used], renumber[self.flat], self.offsets)

    def row(self, i: int) -> np.ndarray:
        return self.flat[self.offsets[i] : self.offsets[i + 1]]

    def bm25(self) -> tuple[bm25s.BM25, dict[str, int]]:
        """The BM25 index bm25s would build from these terms (its defaults: Lucene scoring, k1 1.5, b 0.75), and
        each term's document frequency, in whole-array operations: `bm25s.BM25.index` loops over the chunks in
        Python, ~5 s at 100,000 chunks; this takes well under one. Same matrix (see tests/test_store_sync.py)."""
        bm25 = bm25s.BM25()
        n, v = len(self.ids), len(self.vocab)
        lengths = np.diff(self.offsets)
        average = lengths.mean()
        chunk = np.repeat(np.arange(n, dtype=np.int64), lengths)
        keys = np.sort(self.flat.astype(np.int64) * n + chunk)  # (term, chunk) pairs in column order
        first = np.ones(len(keys), dtype=bool)
        first[1:] = keys[1:] != keys[:-1]
        starts = np.flatnonzero(first)
        tf = np.diff(np.append(starts, len(keys))).astype(np.float32)
        term, chunk = np.divmod(keys[starts], n)
        df = np.bincount(term, minlength=v)
        idf = np.zeros(v, dtype=np.float32)
        idf[df > 0] = np.log(1 + (n - df[df > 0] + 0.5) / (df[df > 0] + 0.5))
        tfc = tf / (bm25.k1 * ((1 - bm25.b) + bm25.b * lengths[chunk] / average) + tf)
        indptr = np.zeros(v + 1, dtype=np.int64)
        np.cumsum(df, out=indptr[1:])
        bm25.scores = {
            "data": (idf[term] * tfc).astype(np.float32),
            "indices": chunk.astype(np.int32),
            "indptr": indptr,
            "num_docs": n,
        }
        bm25.vocab_dict = {term_: i for i, term_ in enumerate(self.vocab)}
        bm25.vocab_dict.setdefault("", v)
        bm25.unique_token_ids_set = set(bm25.vocab_dict.values())
        bm25.nonoccurrence_array = None
        return bm25, {t: int(d) for t, d in zip(self.vocab, df.tolist(), strict=True) if d}

    def save(self, path: Path) -> None:
        tmp = path / f"{TERMS_FILE}.tmp.npz"
        np.savez(tmp, flat=self.flat, offsets=self.offsets)
        tmp.replace(path / TERMS_FILE)

    @classmethod
    def load(cls, path: Path, ids: list[str], vocab: list[str]) -> Terms | None:
        try:
            with np.load(path / TERMS_FILE) as saved:
                flat, offsets = saved["flat"], saved["offsets"]
        except (OSError, ValueError, KeyError):
            return None
        if len(offsets) != len(ids) + 1 or (len(flat) and int(flat.max()) >= len(vocab)):
            return None
        return cls(ids, vocab, flat, offsets)


class LexicalIndex:
    def __init__(
        self,
        ids: list[str],
        bm25: bm25s.BM25 | None,
        doc_freq: dict[str, int],
        chunk_terms: Terms | None = None,
    ) -> None:
        self.ids = ids
        self._bm25 = bm25
        self.doc_freq = doc_freq
        self.terms = chunk_terms

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> LexicalIndex:
        return cls.from_terms(Terms.build(ids, lambda i: terms(texts[i])))

    @classmethod
    def from_terms(cls, chunk_terms: Terms) -> LexicalIndex:
        if not chunk_terms.ids:
            return cls([], None, {}, chunk_terms)
        bm25, doc_freq = chunk_terms.bm25()
        return cls(chunk_terms.ids, bm25, doc_freq, chunk_terms)

    @classmethod
    def update(
        cls, previous: LexicalIndex | None, ids: list[str], texts_of: Callable[[list[str]], dict[str, str]]
    ) -> LexicalIndex:
        """The index over `ids`, reusing the terms of `previous` and reading (`texts_of`) only the new chunks."""
        old = previous.terms if previous is not None else None
        at = {cid: i for i, cid in enumerate(old.ids)} if old is not None else {}
        new_texts = texts_of([cid for cid in ids if cid not in at])

        def tokenized(i: int) -> list[str] | np.ndarray:
            j = at.get(ids[i])
            if j is not None and old is not None:
                return old.row(j)
            return terms(new_texts.get(ids[i], ""))

        return cls.from_terms(Terms.build(ids, tokenized, old.vocab if old is not None else None))

    def idf(self, term: str) -> float:
        n = max(len(self.ids), 1)
        return math.log(1 + (n - self.doc_freq.get(term, 0) + 0.5) / (self.doc_freq.get(term, 0) + 0.5))

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        if self._bm25 is None:
            return []
        tokens = [t for t in terms(query) if t in self.doc_freq]
        if not tokens:
            return []
        k = min(k, len(self.ids))
        docs, scores = self._bm25.retrieve([tokens], k=k, show_progress=False)
        return [(self.ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0], strict=True) if s > 0]

    def save(self, path: Path, fingerprint: str) -> None:
        """Write into a fresh directory, then swap it in: a reader sees the old index, the new one, or none."""
        with fresh_directory(path) as fresh:
            if self._bm25 is not None:
                self._bm25.save(str(fresh), show_progress=False)
            meta: dict[str, object] = {"fingerprint": fingerprint, "ids": self.ids, "doc_freq": self.doc_freq}
            if self.terms is not None:
                self.terms.save(fresh)
                meta["vocab"] = self.terms.vocab
                meta["terms_version"] = terms_version()
            (fresh / "kilde.json").write_text(json.dumps(meta, ensure_ascii=False))

    @classmethod
    def load(cls, path: Path, fingerprint: str | None) -> LexicalIndex | None:
        """The saved index, if it was built from the same chunks; otherwise None.

        With `fingerprint=None`, whatever was saved last, for its terms (see `update`), without its BM25 matrix.
        """
        try:
            meta = json.loads((path / "kilde.json").read_text())
            if fingerprint is not None and meta.get("fingerprint") != fingerprint:
                return None
            bm25 = (
                bm25s.BM25.load(str(path), show_progress=False)
                if meta["ids"] and fingerprint is not None
                else None
            )
            ids = [str(i) for i in meta["ids"]]
            doc_freq = {str(k): int(v) for k, v in meta["doc_freq"].items()}
            if bm25 is not None and int(bm25.scores["num_docs"]) != len(ids):
                return None  # files of two different saves
        except (OSError, ValueError, KeyError, TypeError):
            return None
        vocab = meta.get("vocab")
        chunk_terms = None  # only needed to update the index, not to search it
        if fingerprint is None and isinstance(vocab, list) and meta.get("terms_version") == terms_version():
            chunk_terms = Terms.load(path, ids, [str(v) for v in vocab])
        return cls(ids, bm25, doc_freq, chunk_terms)


def lexical_path(data_dir: Path, collection: str) -> Path:
    return data_dir / "bm25" / collection


def lexical_key(chunk_fingerprint: str) -> str:
    """What a saved BM25 index is keyed by: the chunks it was built from and the tokeniser version."""
    return f"{chunk_fingerprint}-{LEXICAL_VERSION}"


def for_index(index: Index, path: Path, save: bool = True) -> LexicalIndex:
    """The BM25 index of every chunk in `index`: loaded from `path` if current, else updated (and saved)."""
    ids = index.chunk_ids()
    return load_or_build(path, ids, lexical_key(fingerprint_of(ids)), index.chunk_texts, save)


def refresh(index: Index, path: Path) -> bool:
    """Make the BM25 index saved at `path` current (after an ingest); whether it had to be rebuilt."""
    ids = index.chunk_ids()
    key = lexical_key(fingerprint_of(ids))
    if saved_key(path) == key:
        return False
    load_or_build(path, ids, key, index.chunk_texts)
    return True


def saved_key(path: Path) -> str | None:
    try:
        meta = json.loads((path / "kilde.json").read_text())
    except (OSError, ValueError):
        return None
    key = meta.get("fingerprint") if isinstance(meta, dict) else None
    return key if isinstance(key, str) else None


def load_or_build(
    path: Path,
    ids: list[str],
    fingerprint: str,
    texts_of: Callable[[list[str]], dict[str, str]],
    save: bool = True,
) -> LexicalIndex:
    """The BM25 index saved at `path` for exactly these chunk `ids`; if the chunks changed, an updated one.

    Only chunks the saved index did not have are read (`texts_of`) and stemmed; the BM25 matrix itself is
    recomputed (term weights depend on the whole corpus), which is vectorised. The result is saved for next time.
    """
    loaded = LexicalIndex.load(path, fingerprint)
    if loaded is not None:
        return loaded
    built = LexicalIndex.update(LexicalIndex.load(path, None), ids, texts_of)
    if save:
        with contextlib.suppress(OSError):  # a read-only data directory still answers; it rebuilds next time
            built.save(path, fingerprint)
    return built


RRF_K = 60  # the constant of Cormack et al. (2009), which LangChain's EnsembleRetriever uses too


def rrf(rankings: list[list[str]], k: int = RRF_K) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of several rankings of ids."""
    # Not LangChain's EnsembleRetriever: the same order on all 266 test questions (c=60, equal weights), but it
    # needs langchain-classic, dedups by page text, and runs the retrievers itself, so the one question vector
    # could not serve both searches and the answerer.
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank + 1)
    return sorted(scores.items(), key=lambda kv: -kv[1])


def normalise(values: list[float]) -> np.ndarray:
    arr = np.asarray(values, dtype=float)
    if arr.size == 0 or float(arr.max()) <= 0:
        return np.zeros_like(arr)
    return arr / float(arr.max())
