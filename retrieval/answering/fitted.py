"""The fitted offline answerer (opt-in: `KILDE_ANSWERER=fitted`): picks a sentence, cites its chunk, or refuses.

No language model. Each sentence of the retrieved passages gets general features (`retrieval.answering.features`); a
ranker fitted on labelled questions picks the best, and an answerability model, also fitted, with a threshold
calibrated on data, decides whether that sentence holds what was asked or the question must be refused. Both
come from `retrieval/answering/answer_params.json` (see `benchmarks/fit_answerer.py`). What the models cannot see is
checked explicitly: a question about what a named person says must quote that person, and a question about an
article's author or date must first name an article the corpus has.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.documents import Document

from retrieval.answering.attribution import attribution_target, keep_own_words, needs_speaker
from retrieval.answering.features import (
    Candidate,
    Evidence,
    QueryTerms,
    answerability_features,
    gather_evidence,
)
from retrieval.answering.language import content_lemmas, in_vocabulary
from retrieval.answering.parameters import DEFAULT_PARAMS, AnswerParams, load_params
from retrieval.answering.question import QuestionInfo
from retrieval.answering.replies import Quote, compose, metadata_answer, refuse
from retrieval.index.lexical import LexicalIndex
from retrieval.text import stem
from retrieval.types import Answer, Language

LONG_WORDS = 40  # a longer sentence is cut to its 40-word window richest in the question's rare words
SHORT_WORDS = 20  # a shorter one gets the next-best sentence beside it
MAX_WORDS = 60


class FittedAnswerer:
    def __init__(
        self,
        lexical: LexicalIndex,
        corpus_language: Language,
        params: AnswerParams | None = None,
        params_path: Path = DEFAULT_PARAMS,
    ) -> None:
        self.params_path = params_path
        self.lexical = lexical
        self.corpus_language = corpus_language
        self._params = params
        self._vocab = set(lexical.doc_freq)
        self._max_idf = lexical.idf("\x00never")
        self._avg_words = 25.0

    @property
    def params(self) -> AnswerParams:
        if self._params is None:
            self._params = load_params(self.params_path)
        return self._params

    # -- term statistics ---------------------------------------------------------------------------------------

    def idf(self, term: str) -> float:
        return self.lexical.idf(stem(term))

    def known(self, term: str) -> bool:
        """Is the lemma in the corpus, whole or as the head or a part of a compound?"""
        return in_vocabulary(term, self._vocab)

    # -- answering ---------------------------------------------------------------------------------------------

    def evidence(
        self,
        info: QuestionInfo,
        docs: list[Document],
        sentences: dict[str, Any],
        query_vector: Iterable[float],
    ) -> Evidence | None:
        """The features of every sentence of the retrieved chunks (not yet scored); None when there are none."""
        return gather_evidence(
            info,
            docs,
            sentences,
            query_vector,
            corpus_language=self.corpus_language,
            idf=self.idf,
            known=self.known,
        )

    def judge(self, found: Evidence, params: AnswerParams | None = None) -> Evidence:
        """Score the candidates with the fitted ranker and the best one's answerability."""
        params = params or self.params
        models = params.models(found.terms.cross_language)
        found.scores = params.rank(found)
        found.answerability = answerability_features(
            found.info, found.terms, found.cands, found.pool, found.stats, x=found.x, scores=found.scores
        )
        found.probability = float(models.answerable.probability(found.answerability[None, :])[0])
        found.threshold = models.threshold
        return found

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
            return self.metadata_answer(info, docs, chunks, sentences)
        found = self.evidence(info, docs, sentences, query_vector)
        if found is None:
            return self.refuse(info, "no sentences in the retrieved passages")
        missing = found.stats.names_missing + found.stats.numbers_missing
        if missing:  # a name or number the question gives that no article has: the strongest refusal evidence
            return self.refuse(info, f"{missing} name(s) or number(s) of the question are in no article")
        self.judge(found)
        speaker = attribution_target(info, context)
        if speaker and not keep_own_words(found, speaker):
            return self.refuse(info, f"no passage quotes {speaker} on this")
        if found.probability < found.threshold:
            return self.refuse(info, f"answerability {found.probability:.2f} < {found.threshold:.2f}")
        quotes = [Quote(c.doc_id, start, end, c.start, c.end) for c, start, end in self.chosen_spans(found)]
        return compose(info, quotes, chunks, docs, self.corpus_language)

    def refuse(self, info: QuestionInfo, reason: str) -> Answer:
        return refuse(info, reason)

    def chosen_spans(self, found: Evidence) -> list[tuple[Candidate, int, int]]:
        """The sentence(s) to quote, each as (candidate, start, end) offsets into its article."""
        best = found.cands[found.best]
        if best.n_words > LONG_WORDS:
            start, end = _richest_window(best, found.terms)
            return [(best, start, end)]
        spans = [(best, best.start, best.end)]
        if best.n_words >= SHORT_WORDS and not needs_speaker(best.text) and found.close_second is None:
            return spans  # a short sentence, a quote without its speaker, or a close second gets a companion
        i = found.best
        nxt = found.cands[i + 1] if i + 1 < len(found.cands) else None
        extra: Candidate | None = None
        if nxt is not None and nxt.doc_id == best.doc_id and needs_speaker(best.text):
            extra = nxt  # a quote names its speaker in the next sentence
        else:
            ranked = [k for k in np.argsort(-found.scores, kind="stable") if np.isfinite(found.scores[k])]
            extra = found.cands[found.pool[ranked[1]]] if len(ranked) > 1 else None
        if extra is not None and best.n_words + extra.n_words <= MAX_WORDS:
            spans.append((extra, extra.start, extra.end))
        return spans

    def metadata_answer(
        self, info: QuestionInfo, docs: list[Document], chunks: dict[str, Any], sentences: dict[str, Any]
    ) -> Answer:
        return metadata_answer(info, docs, chunks, sentences, idf=self.idf, language=self.corpus_language)


def _richest_window(cand: Candidate, q: QueryTerms) -> tuple[int, int]:
    """Offsets of the LONG_WORDS-word stretch of the sentence holding the most question weight."""
    tokens = list(re.finditer(r"\S+", cand.text))
    weight = dict(zip(q.terms, q.weights, strict=True))
    gains = []
    for t in tokens:
        lem = content_lemmas(t.group(), "da") + content_lemmas(t.group(), "en")
        gains.append(max((weight.get(x, 0.0) for x in lem), default=0.0))
    best_start, best_gain = 0, -1.0
    for s in range(0, max(1, len(tokens) - LONG_WORDS + 1)):
        gain = sum(gains[s : s + LONG_WORDS])
        if gain > best_gain:
            best_start, best_gain = s, gain
    last = tokens[min(len(tokens), best_start + LONG_WORDS) - 1]
    return cand.start + tokens[best_start].start(), cand.start + last.end()
