"""The offline answerer: a fitted ranker picks the sentence, a fitted answerability model decides whether to
answer, and the passage quoted is the best sentence with the neighbour it leans on, cited to its chunk.

No language model and no refusal rules: every decision is a model fitted on labelled questions
(`benchmarks/fit_answerer.py`), over the general features of `retrieval.answering.features`. What the models
cannot see, an article's own facts, comes from its front matter (`replies.metadata_answer`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np
from langchain_core.documents import Document

from retrieval.answering.features import Candidate, Evidence, answerability, gather
from retrieval.answering.language import content_lemmas, in_vocabulary
from retrieval.answering.lexicon import HAND_SET, lexicon
from retrieval.answering.model import DEFAULT_PARAMS, AnswerParams, load_params
from retrieval.answering.question import Question
from retrieval.answering.replies import Quote, compose, metadata_answer, refuse
from retrieval.index.latent import LatentTerms
from retrieval.index.lexical import LexicalIndex
from retrieval.text import stem
from retrieval.types import Answer, Language

ANSWER_DOCS: int = HAND_SET["answer_docs"]
MAX_WORDS: int = HAND_SET["max_words"]
WINDOW_WORDS: int = HAND_SET["window_words"]
LATENT_TOP_K: int = HAND_SET["latent_top_k"]  # the latent terms the ranker was fitted on (`make_latent`)


class Answerer(Protocol):
    """What the service calls: an answer to one analysed question from the retrieved chunks and the sentences
    and chunks of their articles (`Index.doc_parts`)."""

    def answer(
        self,
        question: Question,
        docs: list[Document],
        parts: tuple[dict[str, Any], dict[str, Any]],
        query_vector: list[float],
    ) -> Answer: ...


class LearnedAnswerer:
    def __init__(self, lexical: LexicalIndex, latent: LatentTerms, params_path: Path | None = None) -> None:
        self.lexical = lexical
        self.latent = latent
        self.params_path = params_path or DEFAULT_PARAMS
        self._vocab = set(lexical.doc_freq)

    @property
    def params(self) -> AnswerParams:
        return load_params(self.params_path)

    def idf(self, term: str) -> float:
        return self.lexical.idf(stem(term))

    def candidates(
        self, q: Question, docs: list[Document], sentences: dict[str, Any], query_vector: list[float]
    ) -> Evidence | None:
        """The candidates and their features, not yet scored."""
        return gather(
            q, docs, sentences, query_vector, self.idf, lambda term: in_vocabulary(term, self._vocab), self.latent
        )

    def answer(
        self,
        question: Question,
        docs: list[Document],
        parts: tuple[dict[str, Any], dict[str, Any]],
        query_vector: list[float],
    ) -> Answer:
        if not docs:
            return refuse(question, "nothing retrieved")
        chunks, sentences = parts
        if question.meta_fields:
            idf = {t: self.idf(t) for t in question.subject()}
            return metadata_answer(question, docs, chunks, idf)
        found = self.candidates(question, docs, sentences, query_vector)
        if found is None:
            return refuse(question, "no sentences in the retrieved articles")
        params = self.params
        found.scores = params.ranker.logit(found.x)
        p = float(params.answerable.probability(answerability(found)[None, :])[0])
        if p < params.threshold:
            return refuse(question, f"answerability {p:.2f} < {params.threshold:.2f}")
        return compose(question, passage(found, params.second_gap), chunks, docs)


def passage(found: Evidence, second_gap: float) -> list[Quote]:
    """The best sentence, with the sentence before it when it leans on it (a pronoun, "but") and the one after
    when it is short or opens a list; the runner-up too when the ranker barely prefers the best; within
    `MAX_WORDS`, in reading order."""
    ranked = found.ranked()
    cands = found.cands
    best = ranked[0]
    if cands[best].n_words > MAX_WORDS:
        return [_window(cands[best], found)]
    chosen = [best]

    def fits(i: int) -> bool:
        return i not in chosen and sum(cands[j].n_words for j in chosen) + cands[i].n_words <= MAX_WORDS

    def add_neighbour(i: int) -> None:
        if 0 <= i < len(cands) and cands[i].doc_id == cands[best].doc_id and fits(i):
            chosen.append(i)

    text = cands[best].text
    if cands[best].first_word in lexicon(cands[best].language).leans_back and best > 0:
        add_neighbour(best - 1)
    short = cands[best].n_words < HAND_SET["short_words"]
    if short or text.rstrip().endswith(":") or _opens_quote(text, cands[best].language):
        add_neighbour(best + 1)
    # A question naming two subjects ("the dike in Ribe and the hall in Hanstholm") may need two sentences, often
    # from two articles: the best-ranked one naming what the quote does not yet name joins it. From another
    # article, a sentence need not name it itself ("the brewery will employ 71"): its article naming it is enough,
    # when the articles quoted never do.
    article_words: dict[str, set[str]] = {}
    for cand in cands:
        article_words.setdefault(cand.doc_id, set()).update(cand.words)
    named: set[str] = set()  # what a sentence joined for its article's sake answers for
    for i in ranked[1:]:
        missing = set(found.question.names) - named - set().union(*(cands[j].words for j in chosen))
        if not missing:
            break
        quoted = {cands[j].doc_id for j in chosen}
        unnamed = not missing & set().union(*(article_words[d] for d in quoted))
        elsewhere = unnamed and cands[i].doc_id not in quoted and missing & article_words[cands[i].doc_id]
        if (missing & cands[i].words or elsewhere) and fits(i):
            chosen.append(i)
            named |= missing & article_words[cands[i].doc_id]
    order = np.sort(found.scores)[::-1]
    if len(ranked) > 1 and order[0] - order[1] < second_gap and fits(ranked[1]):
        chosen.append(ranked[1])
    return [
        Quote(cands[i].doc_id, cands[i].start, cands[i].end, cands[i].start, cands[i].end, cands[i].language)
        for i in sorted(chosen, key=lambda i: (i != best and cands[i].doc_id != cands[best].doc_id, i))
    ]


def _opens_quote(text: str, language: Language) -> bool:
    """A quote whose speaker is named in the next sentence: it opens with a dash or quotation mark and has no
    speech verb of its own."""
    opens = bool(re.match(r"^\s*(?:[-–—]\s|[”\"«»„])", text))
    return opens and not lexicon(language).speech_verbs & set(re.findall(r"[\wæøå]+", text.lower()))


def _window(cand: Candidate, found: Evidence) -> Quote:
    """The `WINDOW_WORDS`-word stretch of a long sentence that holds the most question weight."""
    tokens = list(re.finditer(r"\S+", cand.text))

    def weight(token: str) -> float:
        return max((found.weights.get(t, 0.0) for t in content_lemmas(token, cand.language)), default=0.0)

    gains = [weight(t.group()) for t in tokens]
    starts = range(max(1, len(tokens) - WINDOW_WORDS + 1))
    s = max(starts, key=lambda k: (sum(gains[k : k + WINDOW_WORDS]), -k))
    last = tokens[min(len(tokens), s + WINDOW_WORDS) - 1]
    return Quote(cand.doc_id, cand.start + tokens[s].start(), cand.start + last.end(), cand.start, cand.end, cand.language)


ANSWERERS: dict[str, Callable[[LexicalIndex, LatentTerms, Path | None], Answerer]] = {"learned": LearnedAnswerer}
