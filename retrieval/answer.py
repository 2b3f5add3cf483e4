"""The offline answerer: picks the sentences that answer the question, cites their chunks, or refuses.

No language model. The hard part is not finding the article but choosing the sentence and refusing near misses,
so a sentence must (1) be close to the question, (2) contain the question's key words nearby, and (3) hold the kind
of value the question asks for (a number, a date, a name) that the question does not already contain.
"""

from __future__ import annotations

import dataclasses
import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Any

import numpy as np
from langchain_core.documents import Document

from retrieval.lexical import LexicalIndex
from retrieval.question import AnswerType, QuestionInfo
from retrieval.replies import citation, metadata_answer, refuse
from retrieval.text import STOPWORDS, names_in, stem, words
from retrieval.types import Answer, Language
from retrieval.value_types import (  # general vocabulary of value types, shared with the fitted answerer
    _AGE,
    _DATE_WORDS,
    _DURATION,
    _INSTITUTION_WORDS,
    _MONEY,
    _MONTHS,
    _NUMBER,
    _NUMBER_WORDS,
    _PLACE,
    _TOKEN,
    _YEAR,
)

MAX_WORDS = 60
ANSWER_DOCS = 3  # the articles of the best-ranked chunks whose sentences are read
_QUOTE_START = re.compile(r"^\s*(?:[-–—]\s|[”\"«»„])")
_ATTRIBUTION = re.compile(r"\b(siger|sagde|fortæller|mener|lyder det|says|said)\b")


@dataclass
class Candidate:
    doc_id: str
    start: int
    end: int
    text: str
    vector: np.ndarray
    meta: dict[str, Any]
    terms: set[str]
    score: float = 0.0
    dense: float = 0.0
    coverage: float = 0.0


@dataclass(frozen=True)
class Tuning:
    """Weights and floors of the sentence choice, kept together so they are tuned in one place."""

    docs: int = ANSWER_DOCS
    w_dense: float = 1.0
    w_lexical: float = 1.6
    w_window: float = 0.5
    w_type: float = 1.2
    w_chunk: float = 0.4
    w_context: float = 0.4
    min_coverage: float = 0.4
    max_unknown_share: float = 0.34
    min_dense_foreign: float = 0.82  # a question in another language than the articles has only the vector


class ExtractiveAnswerer:
    def __init__(
        self, lexical: LexicalIndex, corpus_language: Language, tuning: Tuning | None = None
    ) -> None:
        self.lexical = lexical
        self.corpus_language = corpus_language
        self.tuning = tuning or Tuning()
        self._vocab = sorted(lexical.doc_freq)
        self._vocab_set = set(self._vocab)

    # -- term matching -------------------------------------------------------------------------------------------

    def known(self, term: str) -> bool:
        """Is the term in the corpus, whole or as part of a compound word?"""
        if term in self._vocab_set:
            return True
        if len(term) < 4:
            return False
        # Another form of the same word ("repræsenterer" / "repræsentanter") shares a long prefix.
        prefix = term[: max(6, len(term) - 2)]
        i = bisect_left(self._vocab, prefix)
        if i < len(self._vocab) and self._vocab[i].startswith(prefix):
            return True
        # A compound ("regelforenkling") whose head or modifier the articles use on its own.
        return any(
            term[j:] in self._vocab_set or term[:-j] in self._vocab_set for j in range(1, len(term) - 3)
        )

    @staticmethod
    def match(term: str, terms: set[str]) -> float:
        if term in terms:
            return 1.0
        if len(term) >= 4:
            for other in terms:
                if len(other) >= 4 and (other.endswith(term) or term.endswith(other)):
                    return 0.7  # the head of a compound: "holdt" / "afholdes"
                if len(term) >= 5 and len(other) >= 5 and (term in other or other in term):
                    return 0.7
        return 0.0

    def unknown_share(self, info: QuestionInfo, unknown: list[str]) -> float:
        weights = self.weights(info.terms)  # an unknown term gets the weight of the rarest
        return sum(weights[t] for t in unknown) / (sum(weights.values()) or 1.0)

    def weights(self, terms: list[str]) -> dict[str, float]:
        return {t: self.lexical.idf(t) for t in terms}

    def coverage(
        self,
        weights: dict[str, float],
        terms: set[str],
        background: set[str] | None = None,
        bonus: frozenset[str] = frozenset(),
    ) -> float:
        """Weighted share of the question's terms found in `terms` (half credit for `background`, the rest
        of the article). `bonus` terms (the category a "which X" question asks for) count only when found."""
        total = sum(w for t, w in weights.items() if t not in bonus)
        if total <= 0:
            return 0.0
        got = 0.0
        for term, weight in weights.items():
            hit = self.match(term, terms)
            if hit == 0.0 and background:
                hit = 0.5 * self.match(term, background)
            got += weight * hit
        return min(1.0, got / total)

    # -- answering -----------------------------------------------------------------------------------------------

    def answer(
        self,
        info: QuestionInfo,
        docs: list[Document],
        parts: tuple[dict[str, Any], dict[str, Any]],
        query_vector: list[float],
        context: str = "",
    ) -> Answer:
        if not docs:
            return self.refuse(info, "nothing retrieved")
        chunks, sentences = parts
        if info.meta_fields:
            return self.metadata_answer(info, docs, parts)
        candidates = self._candidates(sentences)
        if not candidates:
            return self.refuse(info, "no sentences")
        chosen, reason = self._choose(
            info, candidates, docs, np.asarray(query_vector, dtype=np.float32), context
        )
        if not chosen:
            return self.refuse(info, reason)
        return self._compose(info, chosen, chunks, docs)

    def refuse(self, info: QuestionInfo, reason: str) -> Answer:
        return refuse(info, reason)

    def _candidates(self, sentences: dict[str, Any]) -> list[Candidate]:
        out = []
        embeddings = sentences.get("embeddings")
        if embeddings is None:
            return []
        for text, raw_meta, vector in zip(
            sentences["documents"], sentences["metadatas"], embeddings, strict=True
        ):
            meta = dict(raw_meta or {})
            out.append(
                Candidate(
                    doc_id=str(meta["doc_id"]),
                    start=int(meta["start"]),
                    end=int(meta["end"]),
                    text=text or "",
                    vector=np.asarray(vector, dtype=np.float32),
                    meta=meta,
                    terms={stem(w) for w in words(text or "") if w not in STOPWORDS},
                )
            )
        out.sort(key=lambda c: (c.doc_id, c.start))
        return out

    def _choose(
        self, info: QuestionInfo, cands: list[Candidate], docs: list[Document], qvec: np.ndarray, context: str
    ) -> tuple[list[Candidate], str]:
        t = self.tuning
        same_language = info.language == self.corpus_language
        if not same_language:  # the counted noun or role of an English question will not be in Danish text
            info = dataclasses.replace(info, counted=None, role=None)
        weights = self.weights(info.terms)
        # "hvilket parti": the answer names a party, it need not say "parti"
        bonus = frozenset(info.category_terms)
        doc_terms: dict[str, set[str]] = {}
        for cand in cands:
            doc_terms.setdefault(cand.doc_id, set()).update(cand.terms)
        context_weights = self.weights([s for s in (stem(w) for w in words(context)) if s not in weights])
        matrix = np.stack([c.vector for c in cands])
        dense = matrix @ qvec
        lo, hi = float(dense.min()), float(dense.max())
        chunk_rank = _chunk_ranks(docs)
        for i, cand in enumerate(cands):
            window = _window(cands, i)
            window_terms = set().union(*(c.terms for c in window))
            cand.dense = float(dense[i])
            cand.coverage = self.coverage(weights, window_terms, doc_terms[cand.doc_id], bonus)
            if same_language:
                lexical, window_lex = self.coverage(weights, cand.terms, None, bonus), cand.coverage
            else:  # only names and numbers carry over; the lead of a news article states its point
                lexical = 0.2 * _name_overlap(info, cand.text) + 0.3 * (cand.start < _lead_end(cands, cand))
                window_lex = 0.0
            rank = chunk_rank(cand)
            cand.score = (
                t.w_dense * (cand.dense - lo) / (hi - lo + 1e-6)
                + t.w_lexical * lexical
                + t.w_window * window_lex
                + t.w_type * _has_type(info, cand.text)
                + t.w_chunk * (1.0 / (1 + rank) if rank is not None else 0.0)
                + t.w_context * self.coverage(context_weights, window_terms)
                - (0.6 if len(cand.text.split()) < 5 else 0.0)
            )
        best_i = max(range(len(cands)), key=lambda i: cands[i].score)
        best = cands[best_i]
        window = _window(cands, best_i)
        reason = self._unsupported(info, best, window, same_language)
        if reason:
            return [], reason
        chosen = [best]
        words_used = len(best.text.split())
        # A quote often names its speaker only in the next sentence; a short sentence needs its neighbour.
        nxt = (
            cands[best_i + 1] if best_i + 1 < len(cands) and cands[best_i + 1].doc_id == best.doc_id else None
        )
        if nxt is not None and words_used + len(nxt.text.split()) <= MAX_WORDS:
            needs_speaker = _QUOTE_START.match(best.text) and not _ATTRIBUTION.search(best.text)
            if needs_speaker or words_used < 12:
                chosen.append(nxt)
                words_used += len(nxt.text.split())
        # A second, separate sentence for what the first leaves open ("... i henholdsvis 2018 og 2019?").
        covered = set().union(*(c.terms for c in chosen))
        open_weights = {t: w for t, w in weights.items() if self.match(t, covered) == 0.0}
        if same_language and open_weights and sum(open_weights.values()) >= 0.15 * sum(weights.values()):
            others = [c for c in cands if c not in chosen and c not in window]
            gains = {id(c): self.coverage(open_weights, c.terms, None, bonus) for c in others}
            runner = max(others, key=lambda c: (gains[id(c)], c.score), default=None)
            if (
                runner is not None
                and gains[id(runner)] >= 0.5
                and runner.score >= 0.6 * best.score
                and words_used + len(runner.text.split()) <= MAX_WORDS
                and _has_type(info, runner.text)
            ):
                chosen.append(runner)
        return chosen, ""

    def _unsupported(
        self, info: QuestionInfo, best: Candidate, window: list[Candidate], same_language: bool
    ) -> str:
        """Why the evidence does not hold what the question asks for ("" when it does): refuses near misses."""
        t = self.tuning
        if same_language:
            unknown = [t for t in info.terms if t not in info.category_terms and not self.known(t)]
            # An unknown word the question is about ("Hvad koster ...") means the articles cannot answer it;
            # an unknown describing word ("den mangeårige fagforeningsmand X") is tolerated in small measure.
            if unknown and (info.focus in unknown or self.unknown_share(info, unknown) > t.max_unknown_share):
                return f"not in the articles: {', '.join(unknown)}"
            if best.coverage < t.min_coverage:
                return f"question covered {best.coverage:.2f} < {t.min_coverage}"
        else:
            unknown = [
                w
                for name in info.names
                for w in words(name)
                if w not in STOPWORDS and not self.known(stem(w))
            ]
            if unknown:
                return f"not in the articles: {', '.join(unknown)}"
            if best.dense < t.min_dense_foreign:
                return f"similarity {best.dense:.2f} < {t.min_dense_foreign}"
        if not any(_has_type(info, c.text) for c in window):
            return f"no {info.answer_type} in the best passage"
        return ""

    def _compose(
        self, info: QuestionInfo, chosen: list[Candidate], chunks: dict[str, Any], docs: list[Document]
    ) -> Answer:
        chosen = sorted(chosen, key=lambda c: (c.doc_id, c.start))
        by_doc: dict[str, list[tuple[str, str, int, int, dict[str, Any]]]] = {}
        for cid, text, raw_meta in zip(chunks["ids"], chunks["documents"], chunks["metadatas"], strict=True):
            meta = dict(raw_meta or {})
            if meta.get("kind") == "body":
                by_doc.setdefault(str(meta["doc_id"]), []).append(
                    (cid, text or "", int(meta["start"]), int(meta["end"]), meta)
                )
        ranked = [str(d.metadata.get("chunk_id", d.id)) for d in docs]
        numbers: dict[str, int] = {}
        spans: dict[str, tuple[int, int, str, int, dict[str, Any]]] = {}
        pieces = []
        for cand in chosen:
            containing = [c for c in by_doc.get(cand.doc_id, []) if c[2] <= cand.start and cand.end <= c[3]]
            if not containing:
                continue
            containing.sort(key=lambda c: ranked.index(c[0]) if c[0] in ranked else len(ranked) + c[2])
            cid, ctext, cstart, _cend, cmeta = containing[0]
            n = numbers.setdefault(cid, len(numbers) + 1)
            lo, hi = spans.get(cid, (cand.start, cand.end, ctext, cstart, cmeta))[:2]
            spans[cid] = (min(lo, cand.start), max(hi, cand.end), ctext, cstart, cmeta)
            pieces.append(f"{cand.text} [{n}]")
        if not pieces:
            return self.refuse(info, "no chunk holds the chosen sentence")
        citations = []
        for cid, n in numbers.items():
            lo, hi, ctext, cstart, meta = spans[cid]
            citations.append(citation(n, cid, meta, ctext[lo - cstart : hi - cstart]))
        body = " ".join(pieces)
        if info.language != self.corpus_language:
            body = (
                "The articles say (in Danish): " if info.language == "en" else "Artiklerne siger: "
            ) + body
        return Answer(
            question=info.text, text=body, refused=False, language=info.language, citations=citations
        )

    def metadata_answer(
        self, info: QuestionInfo, docs: list[Document], parts: tuple[dict[str, Any], dict[str, Any]]
    ) -> Answer:
        return metadata_answer(info, docs, parts[0], parts[1], idf=self.lexical_idf, language=self.corpus_language)

    def lexical_idf(self, term: str) -> float:
        return self.lexical.idf(stem(term))


def _lead_end(cands: list[Candidate], cand: Candidate) -> int:
    """End offset of an article's first two sentences."""
    doc = [c for c in cands if c.doc_id == cand.doc_id]
    return doc[min(1, len(doc) - 1)].end


def _window(cands: list[Candidate], i: int) -> list[Candidate]:
    doc = cands[i].doc_id
    return [cands[j] for j in (i - 1, i, i + 1) if 0 <= j < len(cands) and cands[j].doc_id == doc]


def _chunk_ranks(docs: list[Document]) -> Any:
    spans = [
        (int(d.metadata.get("start", 0)), int(d.metadata.get("end", 0)), str(d.metadata.get("doc_id")), rank)
        for rank, d in enumerate(docs)
        if d.metadata.get("kind") == "body"
    ]

    def rank_of(cand: Candidate) -> int | None:
        ranks = [r for s, e, doc, r in spans if doc == cand.doc_id and s <= cand.start and cand.end <= e]
        return min(ranks) if ranks else None

    return rank_of


def _name_overlap(info: QuestionInfo, text: str) -> float:
    """For a question in another language: the share of its names and numbers found in the text."""
    keys = [w for name in info.names for w in words(name)] + info.numbers
    if not keys:
        return 0.0
    found = {stem(w) for w in words(text)}
    return sum(stem(k) in found for k in keys) / len(keys)


def _has_type(info: QuestionInfo, text: str) -> float:
    """1.0 when the text holds a value of the kind asked for that the question does not already give."""
    kind: AnswerType = info.answer_type
    if kind == "any":
        return 1.0
    asked = {stem(w) for n in info.names for w in words(n)} | set(info.numbers)
    lowered = text.lower()
    if kind == "number":
        return 1.0 if _numbers(info, text, asked) else 0.0
    if kind == "money":
        return 1.0 if _MONEY.search(text) else 0.0
    if kind == "age":
        return 1.0 if _AGE.search(lowered) else 0.0
    if kind == "duration":
        return 1.0 if _DURATION.search(lowered) else 0.0
    if kind == "date":
        return 1.0 if any(m not in asked for m in _DATE_WORDS.findall(lowered)) else 0.0
    if kind == "place":
        return 1.0 if any(stem(w) not in asked for w in _PLACE.findall(text)) else 0.0
    new_names = [n for n in names_in(text) if not {stem(w) for w in words(n)} <= asked]
    if kind == "person":
        people = [n for n in new_names if _is_person(n)]
        role_ok = info.role is None or ExtractiveAnswerer.match(info.role, {stem(w) for w in words(text)}) > 0
        if people and role_ok:
            return 1.0
        # "Hvem er Troels Lund Poulsen?" asks about the named person: a sentence about them will do.
        about_name = info.names and all(t in asked for t in info.terms)
        return 1.0 if about_name and any(stem(w) in asked for n in names_in(text) for w in words(n)) else 0.0
    return 1.0 if new_names else 0.0


def _numbers(info: QuestionInfo, text: str, asked: set[str]) -> list[str]:
    """Numbers in the text that could answer "how many": not years, not dates, not given by the question, and
    next to the counted noun when the question names one ("hvor mange kommuner" -> "88 kommuner")."""
    tokens = _TOKEN.findall(text)
    found = []
    for i, token in enumerate(tokens):
        low = token.lower()
        is_number = bool(_NUMBER.fullmatch(token)) or low in _NUMBER_WORDS
        if not is_number or token in asked or _YEAR.match(token):
            continue
        after = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        if after == "." and i + 2 < len(tokens) and tokens[i + 2].lower() in _MONTHS:
            continue  # "1. marts" is a date
        if info.counted:
            near = {stem(t) for t in tokens[i + 1 : i + 4]}
            if not any(ExtractiveAnswerer.match(info.counted, {n}) for n in near):
                continue
        found.append(token)
    return found


def _is_person(name: str) -> bool:
    parts = name.split()
    return len(parts) >= 2 and parts[-1].lower() not in _INSTITUTION_WORDS
