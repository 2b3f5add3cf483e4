"""General features of candidate answer sentences and of a question's answerability, for the fitted answerer.

Nothing here knows a corpus or a prompt: every feature is a similarity, a rarity-weighted overlap, a rank or a
type check, computed the same way on any articles. `benchmarks/fit_answerer.py` fits weights over these features
on labelled questions; `retrieval.answering.extractive` applies them.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.documents import Document

from retrieval.answering.language import content_lemmas, content_words, lemma, part_match
from retrieval.answering.question import QuestionInfo, lemma_view
from retrieval.answering.value_types import has_type
from retrieval.text import names_in, words
from retrieval.types import Language

SENTENCE_FEATURES = (
    "cos",
    "cos_rel",
    "cos_rank",
    "cos_neighbour",
    "chunk_rank",
    "chunk_dense",
    "coverage",
    "coverage_rel",
    "coverage_window",
    "bm25",
    "bm25_rel",
    "has_type",
    "type_window",
    "names",
    "numbers",
    "missing_window",
    "novel",
    "length",
    "lead",
    "cross_language",
    "type_any",
)
ANSWERABILITY_FEATURES = (
    "top_score",
    "margin",
    "cos_max",
    "cos_top",
    "coverage_top",
    "coverage_window_top",
    "missing_window_top",
    "missing_doc",
    "missing_corpus",
    "names_missing",
    "numbers_missing",
    "names_missing_window",
    "numbers_missing_window",
    "negation_mismatch",
    "type_top",
    "type_window_top",
    "type_any",
    "terms",
    "cross_language",
)
_K1, _B = 1.2, 0.75
# When the ranker's best and second-best sentences are this close (as a share of the best's lead over the median
# candidate), both are quoted: on the SQuAD and Danish training questions 0.2 lifts "a quoted sentence holds the
# answer" from 0.633 to 0.674 (SQuAD) at a median of 32 words instead of 27; one in five answers gets two.
CLOSE_SECOND = 0.2
# Third-person singular pronouns: a sentence with one, and no name, is often about the person last named.
PERSONAL_PRONOUNS = frozenset(
    ["han", "hun", "ham", "hende", "hans", "hendes", "he", "she", "him", "her", "his", "hers"]
)
# General negation words: a question that negates what the passage states (or the reverse) is a near miss.
_NEGATION = frozenset(["not", "never", "no", "none", "without", "ikke", "aldrig", "ingen", "intet", "uden"])


@dataclass
class Candidate:
    """One sentence of a retrieved article, with what the features need."""

    doc_id: str
    start: int
    end: int
    text: str
    vector: np.ndarray
    lemmas: frozenset[str] = frozenset()  # with the name a pronoun of it stands for (`antecedent`)
    n_words: int = 0
    position: int = 0  # its index among its article's sentences
    antecedent: frozenset[str] = frozenset()  # "han", "she": the words of the person last named before it


@dataclass(frozen=True)
class QueryTerms:
    """The question's matchable terms with rarity weights; in another language only its names and numbers."""

    terms: list[str]
    weights: np.ndarray
    names: list[str]  # lower-cased name tokens
    numbers: list[str]
    cross_language: bool
    known: np.ndarray  # per term: found in the corpus (whole or in a compound)
    names_known: np.ndarray  # per name token


def query_terms(
    info: QuestionInfo, corpus_language: Language, idf: Callable[[str], float], known: Callable[[str], bool]
) -> QueryTerms:
    """Rarity and presence are read by the word as asked and by its lemma (the index keys words its own
    way); the more common reading wins, so an inflected form is never mistaken for a rare word."""
    cross = info.language != corpus_language
    names = list(dict.fromkeys(w for n in info.names for w in words(n)))
    # "Jens Ives budskab": a name in the genitive is the name the articles use
    genitive = {w: w[:-1] for w in names if len(w) > 3 and w.endswith("s") and not known(w) and known(w[:-1])}
    names = list(dict.fromkeys(genitive.get(w, w) for w in names))
    language = info.language if cross else corpus_language
    asked = {genitive.get(t, t) for t in info.terms}
    pairs: dict[str, str] = {}
    for raw in content_words(info.text):
        word = genitive.get(raw, raw)
        term = word if raw in genitive else lemma(word, language)
        if term in asked or term == lemma(word, info.language):
            pairs.setdefault(term, word)
    lemmas = [t for t in pairs if t in asked or t in names or t.isdigit()]
    present = {t: known(t) or known(pairs[t]) for t in lemmas}
    # an English word will not be in Danish text: keep what crosses over (names, numbers, shared words)
    if cross:
        lemmas = [t for t in lemmas if t in names or t.isdigit() or present[t]]
    weights = np.asarray([min(idf(t), idf(pairs[t])) for t in lemmas], dtype=np.float64)
    return QueryTerms(
        lemmas,
        weights,
        names,
        info.numbers,
        cross,
        np.asarray([present[t] for t in lemmas], dtype=bool),
        np.asarray([known(n) for n in names], dtype=bool),
    )


@functools.lru_cache(maxsize=1 << 15)
def sentence_lemmas(text: str, language: Language) -> frozenset[str]:
    return frozenset(content_lemmas(text, language))


def candidates_from(sentences: dict[str, Any], language: Language) -> list[Candidate]:
    """Sentences (as `Index.doc_parts` returns them) in reading order, with their lemmas."""
    out: list[Candidate] = []
    vectors = sentences.get("embeddings")
    if vectors is None:
        return out
    for text, raw, vector in zip(sentences["documents"], sentences["metadatas"], vectors, strict=True):
        meta = dict(raw or {})
        body = text or ""
        out.append(
            Candidate(
                doc_id=str(meta["doc_id"]),
                start=int(meta["start"]),
                end=int(meta["end"]),
                text=body,
                vector=np.asarray(vector, dtype=np.float32),
                lemmas=sentence_lemmas(body, language),
                n_words=len(body.split()),
            )
        )
    out.sort(key=lambda c: (c.doc_id, c.start))
    doc, position, person = "", 0, frozenset[str]()
    for cand in out:
        if cand.doc_id != doc:
            person = frozenset()
        position = position + 1 if cand.doc_id == doc else 0
        doc = cand.doc_id
        cand.position = position
        said, named = _person_cues(cand.text)
        if person and PERSONAL_PRONOUNS.intersection(said) and not person.intersection(said):
            cand.antecedent = person
            cand.lemmas = cand.lemmas | {lemma(w, language) for w in person}
        person = named or person
    return out


@functools.lru_cache(maxsize=1 << 15)  # the same articles' sentences are read for question after question
def _person_cues(text: str) -> tuple[frozenset[str], frozenset[str]]:
    """A sentence's words, and the words of the last full name (two words or more) it gives, if any."""
    full_names = [n for n in names_in(text) if len(n.split()) >= 2]
    return frozenset(words(text)), frozenset(words(full_names[-1])) if full_names else frozenset()


def candidate_pool(
    cands: list[Candidate], docs: list[Document], closeness: np.ndarray, nearest: int = 10
) -> list[int]:
    """The sentences worth scoring: those inside a retrieved chunk, and the `nearest` closest to the question
    of the retrieved articles (a long chunk dilutes a short answer sentence; the rankings miss it)."""
    inside = set(in_retrieved(cands, docs))
    if len(closeness):
        inside.update(int(i) for i in np.argsort(-closeness, kind="stable")[:nearest])
    return sorted(inside)


def in_retrieved(cands: list[Candidate], docs: list[Document]) -> list[int]:
    """Indexes of the candidates inside a retrieved body chunk."""
    spans: dict[str, list[tuple[int, int]]] = {}
    for d in docs:
        if d.metadata.get("kind") == "body":
            spans.setdefault(str(d.metadata["doc_id"]), []).append(
                (int(d.metadata["start"]), int(d.metadata["end"]))
            )
    return [
        i for i, c in enumerate(cands) if any(s <= c.start and c.end <= e for s, e in spans.get(c.doc_id, []))
    ]


def window(cands: list[Candidate], i: int) -> list[int]:
    doc = cands[i].doc_id
    return [j for j in (i - 1, i, i + 1) if 0 <= j < len(cands) and cands[j].doc_id == doc]


def _coverage(q: QueryTerms, lemmas: AbstractSet[str]) -> tuple[float, float, np.ndarray]:
    """Weighted share of question terms found, the largest weight missing (as a share of the largest weight),
    and the per-term match vector."""
    if not q.terms:
        return 0.0, 0.0, np.zeros(0)
    hits = np.asarray([part_match(t, lemmas) for t in q.terms])
    total = float(q.weights.sum()) or 1.0
    missing = q.weights * (hits == 0)
    top = float(q.weights.max()) or 1.0
    return float((q.weights * hits).sum() / total), float(missing.max() / top), hits


def sentence_features(
    info: QuestionInfo,
    q: QueryTerms,
    cands: list[Candidate],
    pool: list[int],
    docs: list[Document],
    *,
    closeness: np.ndarray,
    avg_words: float,
) -> np.ndarray:
    """One row of `SENTENCE_FEATURES` per candidate in `pool`; `closeness`: every candidate's cosine to the question."""
    cos = closeness[pool]
    order = np.argsort(-cos, kind="stable")
    cos_rank = np.empty(len(pool))
    cos_rank[order] = np.arange(len(pool))
    chunk_of = _chunk_lookup(docs)
    asked = {w for w in q.names} | set(q.numbers)
    rows = []
    bm25s = []
    coverages = []
    for k, i in enumerate(pool):
        cand = cands[i]
        win = window(cands, i)
        win_lemmas = set().union(*(cands[j].lemmas for j in win))
        coverage, _, hits = _coverage(q, cand.lemmas)
        coverage_win, missing_win, _ = _coverage(q, win_lemmas)
        norm = _K1 * (1 - _B + _B * cand.n_words / max(avg_words, 1.0))
        bm25 = float(
            (q.weights * hits * (_K1 + 1) / (1 + norm)).sum() / ((q.weights.sum() or 1.0) * (_K1 + 1))
        )
        bm25s.append(bm25)
        coverages.append(coverage)
        rank, dense = chunk_of(cand)
        lowered = _person_cues(cand.text)[0] | cand.antecedent
        neighbours = [closeness[j] for j in win if j != i]
        rows.append(
            [
                float(cos[k]),
                0.0,  # cos_rel, filled below
                1.0 / (1.0 + cos_rank[k]),
                float(max(neighbours)) if neighbours else float(cos[k]),
                1.0 / (1.0 + rank) if rank is not None else 0.0,
                dense,
                coverage,
                0.0,  # coverage_rel
                coverage_win,
                bm25,
                0.0,  # bm25_rel
                has_type(info, cand.text, asked),
                max(has_type(info, cands[j].text, asked) for j in win),
                _share(q.names, lowered),
                _share(q.numbers, lowered),
                missing_win,
                _novel(cand.lemmas, q.terms),
                math.log1p(cand.n_words),
                1.0 if cand.position < 2 else 0.0,
                1.0 if q.cross_language else 0.0,
                1.0 if info.answer_type == "any" else 0.0,
            ]
        )
    x = np.asarray(rows, dtype=np.float64).reshape(len(pool), len(SENTENCE_FEATURES))
    if len(pool):
        x[:, 1] = x[:, 0] - x[:, 0].max()
        x[:, 7] = x[:, 6] - x[:, 6].max()
        x[:, 10] = x[:, 9] - x[:, 9].max()
    return x


@dataclass(frozen=True)
class DocStats:
    """What answerability needs of the whole retrieved articles, worked out once per question."""

    missing_doc: dict[str, float]  # per article: the largest question weight it lacks (share of the largest)
    names_missing: int  # name tokens of the question in none of the articles nor the corpus
    numbers_missing: int


def doc_stats(q: QueryTerms, cands: list[Candidate]) -> DocStats:
    by_doc: dict[str, set[str]] = {}
    seen: set[str] = set()
    for c in cands:
        by_doc.setdefault(c.doc_id, set()).update(c.lemmas)
        seen.update(words(c.text))
    names_missing = sum(1 for n, ok in zip(q.names, q.names_known, strict=True) if n not in seen and not ok)
    return DocStats(
        {doc: _coverage(q, lemmas)[1] for doc, lemmas in by_doc.items()},
        names_missing,
        sum(1 for n in q.numbers if n not in seen),
    )


def answerability_features(
    info: QuestionInfo,
    q: QueryTerms,
    cands: list[Candidate],
    pool: list[int],
    stats: DocStats,
    *,
    x: np.ndarray,
    scores: np.ndarray,
) -> np.ndarray:
    """One row of `ANSWERABILITY_FEATURES`: how well the best candidate (by `scores`) holds what is asked."""
    col = {name: i for i, name in enumerate(SENTENCE_FEATURES)}
    order = np.argsort(-scores, kind="stable")
    best = int(order[0])
    second = float(scores[order[1]]) if len(order) > 1 else float(scores[best]) - 1.0
    top = pool[best]
    missing_doc = stats.missing_doc.get(cands[top].doc_id, 1.0)
    seen = {w for j in window(cands, top) for w in words(cands[j].text)}
    negated = bool(_NEGATION & set(words(info.text))) != bool(_NEGATION & seen)
    unknown = q.weights[~q.known] if len(q.terms) else np.zeros(0)
    names_missing, numbers_missing = stats.names_missing, stats.numbers_missing
    return np.asarray(
        [
            float(scores[best]),
            float(scores[best]) - second,
            float(x[:, col["cos"]].max()),
            float(x[best, col["cos"]]),
            float(x[best, col["coverage"]]),
            float(x[best, col["coverage_window"]]),
            float(x[best, col["missing_window"]]),
            missing_doc,
            float(sum(unknown) / (q.weights.sum() or 1.0)),
            float(names_missing),
            float(numbers_missing),
            1.0 - _share(q.names, seen) if q.names else 0.0,
            1.0 - _share(q.numbers, seen) if q.numbers else 0.0,
            1.0 if negated else 0.0,
            float(x[best, col["has_type"]]),
            float(x[best, col["type_window"]]),
            1.0 if info.answer_type == "any" else 0.0,
            math.log1p(len(q.terms)),
            1.0 if q.cross_language else 0.0,
        ],
        dtype=np.float64,
    )


def _share(keys: list[str], found: AbstractSet[str]) -> float:
    return sum(k.lower() in found for k in keys) / len(keys) if keys else 0.0


def _novel(lemmas: AbstractSet[str], terms: list[str]) -> float:
    """Share of the sentence's words the question does not use: room for an answer."""
    if not lemmas:
        return 0.0
    asked = set(terms)
    return sum(1 for t in lemmas if t not in asked) / len(lemmas)


def _chunk_lookup(docs: list[Document]) -> Callable[[Candidate], tuple[int | None, float]]:
    spans = [
        (
            str(d.metadata.get("doc_id")),
            int(d.metadata.get("start", 0)),
            int(d.metadata.get("end", 0)),
            rank,
            float(d.metadata.get("dense") or 0.0),
        )
        for rank, d in enumerate(docs)
        if d.metadata.get("kind") == "body"
    ]

    def lookup(cand: Candidate) -> tuple[int | None, float]:
        hits = [
            (r, dense)
            for doc, s, e, r, dense in spans
            if doc == cand.doc_id and s <= cand.start and cand.end <= e
        ]
        return min(hits) if hits else (None, 0.0)

    return lookup


@dataclass
class Evidence:
    """What a fitted model sees of one question: the candidates, their features and (once judged) their
    scores and how answerable the question looks."""

    info: QuestionInfo
    terms: QueryTerms
    cands: list[Candidate]
    pool: list[int]  # the candidates inside retrieved chunks, in the row order of `x`
    x: np.ndarray
    stats: DocStats
    scores: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    answerability: np.ndarray = dataclasses.field(default_factory=lambda: np.zeros(0))
    probability: float = 0.0
    threshold: float = 0.5

    @property
    def best(self) -> int:
        """Index into `cands` of the best-scored sentence."""
        return self.pool[int(np.argmax(self.scores))]

    @property
    def close_second(self) -> int | None:
        """Index into `cands` of the second-best sentence when the ranker barely prefers the best one (their
        gap is under `CLOSE_SECOND` of the gap between the best and the median candidate), else None."""
        finite = np.flatnonzero(np.isfinite(self.scores))
        if len(finite) < 3:
            return None
        scores = self.scores[finite]
        first, second = np.argsort(-scores, kind="stable")[:2]
        spread = float(scores[first] - np.median(scores))
        if scores[first] - scores[second] >= CLOSE_SECOND * spread:
            return None
        return self.pool[int(finite[second])]


def gather_evidence(
    info: QuestionInfo,
    docs: list[Document],
    sentences: dict[str, Any],
    query_vector: Iterable[float],
    *,
    corpus_language: Language,
    idf: Callable[[str], float],
    known: Callable[[str], bool],
) -> Evidence | None:
    """The features of every sentence of the retrieved chunks (not yet scored); None when there are none."""
    info = lemma_view(info)
    if info.language != corpus_language:  # the counted noun or role of the question is in another language
        info = dataclasses.replace(info, counted=None, role=None)
    cands = candidates_from(sentences, corpus_language)
    qvec = np.asarray(list(query_vector), dtype=np.float32)
    closeness = np.stack([c.vector for c in cands]) @ qvec if cands else np.zeros(0)
    pool = candidate_pool(cands, docs, closeness)
    if not pool:
        return None
    q = query_terms(info, corpus_language, idf, known)
    avg = float(np.mean([cands[i].n_words for i in pool]))
    x = sentence_features(info, q, cands, pool, docs, closeness=closeness, avg_words=avg)
    return Evidence(info, q, cands, pool, x, doc_stats(q, cands))
