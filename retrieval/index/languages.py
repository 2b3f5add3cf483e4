"""Which language each article is in, and moving each language's vectors to a common centre (`LanguageShift`):
shared by the saved copy of a local index (`snapshot`) and an index read from a Chroma server (`store`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from retrieval.langid import detect_language

# The fewest articles a language needs before its vectors are moved (`LanguageShift`). Measured on the training
# newsroom articles with one of their two English articles left out: English questions about the one left found
# it first 1.00 -> 0.60 and 1.00 -> 0.44 of the time once moved; with both, 0.95 either way, and cross-language
# questions gained (0.25 -> 0.58).
MIN_ARTICLES = 2

BLOCK = 16384  # rows at a time: the vectors may be a large mapped file, or pages read from a server


def language_of_doc(metadatas: Sequence[dict[str, Any]], languages: Sequence[str]) -> dict[Any, str]:
    return {m.get("doc_id"): lang for m, lang in zip(metadatas, languages, strict=True) if lang}


def docs_of(metadatas: Sequence[dict[str, Any]]) -> list[str]:
    return [str(m.get("doc_id")) for m in metadatas]


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
    Worked out at ingest and saved with the index (`snapshot.write`, `store.Index.save_language_shifts`): a question
    never reads every vector."""

    languages: tuple[str, ...]
    shifts: np.ndarray  # per language, the mean of all vectors minus the mean of that language's; none: no move

    @classmethod
    def fit(cls, vectors: np.ndarray, languages: Sequence[str], articles: Sequence[str]) -> LanguageShift:
        """`languages` and `articles` per row; "" (an article with no body) is left where it is."""
        if not len(languages) == len(articles) == len(vectors):
            return cls((), np.zeros((0, vectors.shape[1] if vectors.ndim == 2 else 0)))
        return cls.fit_blocks(
            (vectors[i : i + BLOCK], languages[i : i + BLOCK], articles[i : i + BLOCK])
            for i in range(0, len(vectors), BLOCK)
        )

    @classmethod
    def fit_blocks(cls, blocks: Iterable[tuple[np.ndarray, Sequence[str], Sequence[str]]]) -> LanguageShift:
        """The same, from (vectors, languages, articles) a block at a time. Nothing moves unless every language
        has `MIN_ARTICLES` articles: one article's mean is as much its subject as its language, and moving it away
        from that takes its own readers' questions away from it."""
        sums: dict[str, np.ndarray] = {}
        sizes: dict[str, int] = {}
        articles_of: dict[str, set[str]] = {}
        dims = 0
        for vectors, languages, articles in blocks:
            block = np.array(vectors, dtype=np.float64)  # a copy: normalised in place below
            if block.ndim != 2 or not len(block):
                continue
            dims = block.shape[1]
            block /= np.where((norms := np.linalg.norm(block, axis=1, keepdims=True)) > 0, norms, 1)
            rows = np.asarray(languages)
            for name in set(languages) - {""}:
                here = rows == name
                sums[name] = sums.get(name, 0) + block[here].sum(axis=0)
                sizes[name] = sizes.get(name, 0) + int(here.sum())
                articles_of.setdefault(name, set()).update(
                    a for a, lang in zip(articles, languages, strict=True) if lang == name
                )
        names = sorted(sums)
        if len(names) < 2 or min(len(articles_of[n]) for n in names) < MIN_ARTICLES:
            return cls((), np.zeros((0, dims)))
        centre = sum(sums.values()) / sum(sizes.values())
        return cls(tuple(names), np.stack([centre - sums[n] / sizes[n] for n in names]))

    def to_json(self) -> dict[str, Any]:
        return {"languages": list(self.languages), "shifts": self.shifts.tolist()}

    @classmethod
    def from_json(cls, data: dict[str, Any], dims: int | None = None) -> LanguageShift:
        languages = tuple(data["languages"])
        shifts = np.asarray(data["shifts"], dtype=np.float64).reshape(
            len(languages), -1 if languages else dims or 0
        )
        if dims is not None and languages and shifts.shape[1] != dims:
            raise ValueError("a language shift of another shape")
        return cls(languages, shifts)

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
