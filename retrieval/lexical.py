"""BM25 over chunks with a Danish stemmer (bm25s + PyStemmer), persisted next to the vector index."""

from __future__ import annotations

import json
import logging
import math
from collections import Counter
from pathlib import Path

import bm25s
import numpy as np

from retrieval.text import STOPWORDS, stem, words

# Bump when tokenisation changes, so saved BM25 indexes are rebuilt.
LEXICAL_VERSION = 4

logging.getLogger("bm25s").setLevel(logging.WARNING)


def terms(text: str) -> list[str]:
    """Stemmed content words, repeats kept (BM25 counts them)."""
    return [stem(w) for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


class LexicalIndex:
    def __init__(self, ids: list[str], bm25: bm25s.BM25 | None, doc_freq: dict[str, int]) -> None:
        self.ids = ids
        self._bm25 = bm25
        self.doc_freq = doc_freq

    @classmethod
    def build(cls, ids: list[str], texts: list[str]) -> LexicalIndex:
        tokenized = [terms(t) or ["\x00empty"] for t in texts]
        doc_freq: Counter[str] = Counter()
        for tokens in tokenized:
            doc_freq.update(set(tokens))
        bm25 = None
        if ids:
            bm25 = bm25s.BM25()
            bm25.index(tokenized, show_progress=False)
        return cls(ids, bm25, dict(doc_freq))

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
        path.mkdir(parents=True, exist_ok=True)
        if self._bm25 is not None:
            self._bm25.save(str(path), show_progress=False)
        (path / "kilde.json").write_text(
            json.dumps({"fingerprint": fingerprint, "ids": self.ids, "doc_freq": self.doc_freq})
        )

    @classmethod
    def load(cls, path: Path, fingerprint: str) -> LexicalIndex | None:
        """The saved index, if it was built from the same chunks; otherwise None."""
        try:
            meta = json.loads((path / "kilde.json").read_text())
            if meta.get("fingerprint") != fingerprint:
                return None
            bm25 = bm25s.BM25.load(str(path), show_progress=False) if meta["ids"] else None
        except (OSError, ValueError, KeyError):
            return None
        return cls(list(meta["ids"]), bm25, {str(k): int(v) for k, v in meta["doc_freq"].items()})


def rrf(rankings: list[list[str]], k: int = 60) -> list[tuple[str, float]]:
    """Reciprocal rank fusion of several rankings of ids."""
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
