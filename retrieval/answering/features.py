"""What the fitted models see: each candidate sentence's features, and the question's answerability features.

Every feature is a similarity, a rarity-weighted overlap, a rank or a check for a value of the kind asked for,
the same on any articles in either language. Words are matched as lemmas of the article's own language; across
languages only words spelled alike (names, numbers, cognates) match.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from langchain_core.documents import Document

from retrieval.answering.language import content_lemmas, part_match
from retrieval.answering.lexicon import HAND_SET, lexicon
from retrieval.answering.question import Question
from retrieval.index.latent import LatentTerms, similarity
from retrieval.langid import detect_language
from retrieval.text import names_in, words
from retrieval.types import Language

# Grouped by what they tell; the order is the column order of the fitted weights.
SENTENCE_FEATURES = (
    "cos", "cos_rank", "cos_window",  # closeness to the question: own, rank, window's
    "latent",  # the latent terms (concepts, across languages) it shares with the question
    "chunk_rank",  # where the search ranked the chunk that holds it
    "coverage", "coverage_window", "missing_window",  # the question's words it holds
    "values_given", "has_kind", "kind_window", "list_like",  # numbers, the kind of value asked
    "novel", "speech", "leans_back",  # the sentence itself
)
ANSWERABILITY_FEATURES = (
    "margin", "cos_max",  # how sure the ranker and the search are
    "unknown_share", "names_unknown",  # the question's words and names that no article uses
    "values_missing",  # its numbers the best sentence lacks
    "terms", "cross_language",  # how much it says, and whether the best sentence is in its language
)
COLUMN = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
Values = dict[str, set[str]]  # by kind, as `Lexicon.values` reads them


@dataclass
class Candidate:
    """One sentence of a retrieved article, with what the features need."""

    doc_id: str
    start: int
    end: int
    text: str
    vector: np.ndarray
    language: Language
    words: frozenset[str] = frozenset()
    lemmas: frozenset[str] = frozenset()  # with the person a pronoun stands for
    values: Values = field(default_factory=dict)

    @property
    def n_words(self) -> int:
        return len(self.text.split())

    @property
    def first_word(self) -> str:
        return self.text.split(maxsplit=1)[0].lower().strip("\"'«»”-–") if self.text.split() else ""


@dataclass
class Evidence:
    """One question's candidates, features and (once scored) ranker scores and answerability."""

    question: Question
    cands: list[Candidate]
    pool: list[int]  # indexes into `cands`, in the row order of `x`
    x: np.ndarray
    weights: dict[str, float]  # question term -> rarity
    known: dict[str, bool]  # question term -> found anywhere in the corpus
    names_known: dict[str, bool]  # the question's names -> found anywhere in the corpus
    scores: np.ndarray = field(default_factory=lambda: np.zeros(0))

    def ranked(self) -> list[int]:
        """Indexes into `cands`, best first."""
        return [self.pool[int(k)] for k in np.argsort(-self.scores, kind="stable")]


def article_language(sample: str) -> Language:
    return _language(sample[: HAND_SET["language_sample_chars"]])


@functools.lru_cache(maxsize=int(HAND_SET["languages"]))
def _language(sample: str) -> Language:
    return detect_language(sample)


@functools.lru_cache(maxsize=int(HAND_SET["sentences"]))
def _sentence(text: str, language: Language) -> tuple[frozenset[str], frozenset[str], tuple[str, ...], Values]:
    """A sentence's words, lemmas, the words of the last full name it gives, and its values."""
    full = [n for n in names_in(text) if len(n.split()) >= HAND_SET["full_name_words"]]
    named = tuple(words(full[-1])) if full else ()
    return frozenset(words(text)), frozenset(content_lemmas(text, language)), named, lexicon(language).values(text)


def candidates(sentences: dict[str, Any]) -> list[Candidate]:
    """Sentences (as `Index.doc_parts` returns them) in reading order. A sentence that says he/she and names
    nobody also carries the words of the person last named before it."""
    vectors = sentences.get("embeddings")
    if vectors is None:
        return []
    rows = sorted(
        zip(sentences["documents"], sentences["metadatas"], vectors, strict=True),
        key=lambda r: (str((r[1] or {})["doc_id"]), int((r[1] or {})["start"])),
    )
    texts: dict[str, list[str]] = {}
    for text, meta, _ in rows:
        texts.setdefault(str(meta["doc_id"]), []).append(text or "")
    languages = {doc: article_language(" ".join(parts)) for doc, parts in texts.items()}
    out: list[Candidate] = []
    doc, person = "", tuple[str, ...]()
    for text, meta, vector in rows:
        body = text or ""
        doc_id = str(meta["doc_id"])
        person = person if doc_id == doc else ()
        doc = doc_id
        language = languages[doc_id]
        said, lemmas, named, values = _sentence(body, language)
        if person and lexicon(language).personal_pronouns & said and not set(person) & said:
            lemmas = lemmas | set(person)
            said = said | set(person)
        person = named or person
        out.append(
            Candidate(
                doc_id, int(meta["start"]), int(meta["end"]), body, np.asarray(vector, dtype=np.float32),
                language, said, lemmas, values,
            )
        )
    return out


def window(cands: Sequence[Candidate], i: int) -> list[int]:
    doc = cands[i].doc_id
    return [j for j in (i - 1, i, i + 1) if 0 <= j < len(cands) and cands[j].doc_id == doc]


def _terms_for(q: Question, cand: Candidate) -> tuple[Sequence[str], AbstractSet[str]]:
    """The question's terms and the sentence's words they are matched against: lemmas in one language, words as
    written across two."""
    if q.language == cand.language:
        return q.lemmas, cand.lemmas | cand.words
    return q.words, cand.words


def _coverage(
    terms: Sequence[str], weights: dict[str, float], found: AbstractSet[str], across: bool = False
) -> tuple[float, float]:
    """Rarity-weighted share of `terms` found, and the largest weight missing (as a share of the largest). Across
    languages a word counts by how much it shares its spelling with one of the text's (project/projekt)."""
    if not terms:
        return 0.0, 0.0
    hits = [_cognate(t, found) if across else part_match(t, found) for t in terms]
    w = [weights.get(t, 1.0) for t in terms]
    missing = [wi for wi, h in zip(w, hits, strict=True) if h == 0.0]
    return sum(wi * h for wi, h in zip(w, hits, strict=True)) / (sum(w) or 1.0), max(missing, default=0.0) / (
        max(w) or 1.0
    )


def _has_kind(q: Question, values: dict[str, set[str]], text_words: AbstractSet[str], text: str) -> float:
    """Does a text hold a value of the kind asked for, other than what the question gives?"""

    def new(kind: str) -> bool:
        return bool(values.get(kind, set()) - q.values)

    if q.kind in ("number", "money", "duration", "age"):
        return float(new("number"))
    if q.kind == "date":
        return float(new("date") or new("year") or bool(values.get("date")))
    if q.kind in ("person", "name", "place"):
        return float(any(set(words(n)) - set(q.names) for n in names_in(text)))
    if q.kind == "list":
        separators = text.count(",") + sum(w in ("og", "and", "samt") for w in text_words)
        return float(separators >= max(HAND_SET["list_items"], q.items - 1))
    return 0.0


def gather(  # noqa: PLR0917
    q: Question,
    docs: list[Document],
    sentences: dict[str, Any],
    query_vector: Sequence[float],
    idf: Callable[[str], float],
    known: Callable[[str], bool],
    latent: LatentTerms,
) -> Evidence | None:
    """The features of the candidate sentences (not yet scored); None when there are none."""
    cands = candidates(sentences)
    if not cands:
        return None
    closeness = np.stack([c.vector for c in cands]) @ np.asarray(query_vector, dtype=np.float32)
    chunk_rank = _chunk_ranks(docs)
    inside = {i for i, c in enumerate(cands) if chunk_rank(c) is not None}
    nearest = np.argsort(-closeness, kind="stable")[: HAND_SET["nearest_sentences"]]
    pool = sorted(inside | {int(i) for i in nearest})
    terms = list(dict.fromkeys([*q.lemmas, *q.words]))
    weights = {t: idf(t) for t in terms}
    cos = closeness[pool]
    cos_rank = np.argsort(np.argsort(-cos, kind="stable"))  # each candidate's place, closest first
    asked, *said = latent.of([q.text, *(cands[i].text for i in pool)])
    rows = []
    for k, i in enumerate(pool):
        cand = cands[i]
        win = window(cands, i)
        q_terms, found = _terms_for(q, cand)
        win_found = set().union(*(_terms_for(q, cands[j])[1] for j in win))
        across = q.language != cand.language
        coverage, _ = _coverage(q_terms, weights, found, across)
        coverage_win, missing_win = _coverage(q_terms, weights, win_found, across)
        win_values = set().union(*(v for j in win for v in cands[j].values.values()))
        rank = chunk_rank(cand)
        rows.append(
            [
                float(cos[k]),
                1.0 / (1.0 + cos_rank[k]),
                float(max(closeness[j] for j in win)),
                similarity(asked, said[k]),
                1.0 / (1.0 + rank) if rank is not None else 0.0,
                coverage,
                coverage_win,
                missing_win,
                _share(list(q.values), win_values),
                _has_kind(q, cand.values, cand.words, cand.text),
                max(_has_kind(q, cands[j].values, cands[j].words, cands[j].text) for j in win),
                float(q.kind == "list") * min(1.0, cand.text.count(",") / HAND_SET["list_like_commas"]),
                _novel(cand.lemmas, q.lemmas),
                float(bool(lexicon(cand.language).speech_verbs & cand.words) and _share(q.names, found) > 0),
                float(cand.first_word in lexicon(cand.language).leans_back),
            ]
        )
    x = np.asarray(rows, dtype=np.float64).reshape(len(pool), len(SENTENCE_FEATURES))
    return Evidence(
        q, cands, pool, x, weights, {t: known(t) for t in terms}, {n: known(n) or _genitive_known(n, known) for n in q.names}
    )


def _genitive_known(name: str, known: Callable[[str], bool]) -> bool:
    """ "KLs", "Jens Ives": a name in the genitive is the name the articles use."""
    return len(name) > HAND_SET["genitive_min_chars"] and name.endswith("s") and known(name[:-1])


def answerability(found: Evidence) -> np.ndarray:
    """One row of `ANSWERABILITY_FEATURES`: how well the best candidate holds what is asked."""
    q = found.question
    order = np.argsort(-found.scores, kind="stable")
    best = int(order[0])
    second = float(found.scores[order[1]]) if len(order) > 1 else float(found.scores[best]) - 1.0
    total = sum(found.weights.values()) or 1.0
    unknown = sum(w for t, w in found.weights.items() if not found.known.get(t, True)) / total
    names_unknown = _share(list(found.names_known), {n for n, ok in found.names_known.items() if not ok})
    return np.asarray(
        [
            float(found.scores[best]) - second,
            float(found.x[:, COLUMN["cos"]].max()),
            unknown,
            names_unknown,
            1.0 - float(found.x[best, COLUMN["values_given"]]) if q.values else 0.0,
            math.log1p(len(found.weights)),
            float(q.language != found.cands[found.pool[best]].language),
        ],
        dtype=np.float64,
    )


def _chunk_ranks(docs: list[Document]) -> Callable[[Candidate], int | None]:
    """The rank of the best retrieved body chunk holding a sentence."""
    spans: dict[str, list[tuple[int, int, int]]] = {}
    for rank, d in enumerate(docs):
        if d.metadata.get("kind") == "body":
            span = (int(d.metadata["start"]), int(d.metadata["end"]), rank)
            spans.setdefault(str(d.metadata.get("doc_id")), []).append(span)

    def chunk_rank(cand: Candidate) -> int | None:
        ranks = [r for s, e, r in spans.get(cand.doc_id, []) if s <= cand.start and cand.end <= e]
        return min(ranks) if ranks else None

    return chunk_rank


def _share(keys: Sequence[str], found: AbstractSet[str]) -> float:
    return sum(k in found for k in keys) / len(keys) if keys else 0.0


def _novel(lemmas: AbstractSet[str], terms: Sequence[str]) -> float:
    """Share of the sentence's words the question does not use: room for an answer."""
    return sum(1 for t in lemmas if t not in terms) / len(lemmas) if lemmas else 0.0


@functools.lru_cache(maxsize=int(HAND_SET["trigrams"]))
def _trigrams(word: str) -> frozenset[str]:
    padded, n = f"<{word}>", HAND_SET["cognate_ngram"]
    return frozenset(padded[i : i + n] for i in range(len(padded) - n + 1))


def _cognate(term: str, found: AbstractSet[str]) -> float:
    """The best Dice overlap of letter trigrams between a word and a text's words, from `cognate_min_dice`
    (else 0): 1 for the same word; related words of Danish and English share much of theirs (project/projekt,
    university/universitet)."""
    shortest = HAND_SET["cognate_min_chars"]
    if term in found:
        return 1.0
    if len(term) < shortest:
        return 0.0
    mine = _trigrams(term)
    others = [_trigrams(w) for w in found if len(w) >= shortest]
    dice = (2 * len(mine & theirs) / (len(mine) + len(theirs)) for theirs in others)  # Dice's coefficient
    best = max(dice, default=0.0)
    return best if best >= HAND_SET["cognate_min_dice"] else 0.0
