"""The hybrid answerer (`KILDE_ANSWERER=hybrid`): the fitted ranker picks the sentence, the rules' gates refuse."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import numpy as np
import pytest

from retrieval.answering.extractive import Candidate, ExtractiveAnswerer, _absent_numbers
from retrieval.answering.features import CLOSE_SECOND, Evidence
from retrieval.answering.parameters import DEFAULT_PARAMS, load_params
from retrieval.answering.question import analyse
from retrieval.service import Service
from retrieval.settings import Settings


def test_the_setting_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.chdir(tmp_path)  # no .env file of the developer's
    monkeypatch.setenv("KILDE_ANSWERER", "hybrid")
    assert Settings().answerer == "hybrid"


def test_the_hybrid_is_the_rules_answerer_with_the_fitted_ranker(hybrid_service: Service) -> None:
    answerer = hybrid_service.extractive
    assert isinstance(answerer, ExtractiveAnswerer)
    assert answerer.ranker is load_params(DEFAULT_PARAMS)  # the shipped parameters (cached: one object)


def test_a_bundled_corpus_question_is_answered_with_a_citation(hybrid_service: Service) -> None:
    answer = hybrid_service.answer("Hvad hedder næstformanden i HK Kommunal?")
    assert not answer.refused, answer.reason
    assert "Pia Lund Jeppesen" in " ".join(c.quote for c in answer.citations)
    assert "velfaerdskommuner-hk-kommunal" in {c.doc_id for c in answer.citations}


def test_a_question_the_articles_cannot_answer_is_refused_by_the_rules_gates(hybrid_service: Service) -> None:
    answer = hybrid_service.answer("Hvad koster en kop kaffe på Mars?")
    assert answer.refused and not answer.citations


def _scored(scores: list[float]) -> Evidence:
    """Evidence with only what the sentence choice reads: the pool and the ranker's scores."""
    none = cast(Any, None)
    pool = list(range(10, 10 + len(scores)))
    return Evidence(
        none, none, [], pool, np.zeros((len(scores), 1)), none, scores=np.asarray(scores, dtype=float)
    )


def test_a_second_sentence_is_quoted_only_when_the_ranker_barely_prefers_the_best() -> None:
    # the best leads the median (1.0) by 4.0; a gap under CLOSE_SECOND of that is close
    close = 5.0 - 0.5 * CLOSE_SECOND * 4.0
    assert _scored([1.0, 5.0, 0.0, close, 1.0]).close_second == 13  # an index into the candidates
    assert _scored([1.0, 5.0, 0.0, 2.0, 1.0]).close_second is None
    assert _scored([5.0, 4.9]).close_second is None  # too few candidates to tell a lead from noise
    # a candidate ruled out (another speaker's quote) is never the second
    assert _scored([1.0, 5.0, 0.0, -np.inf, close, 1.0]).close_second == 14


def _sentence(text: str, **meta: str) -> Candidate:
    return Candidate("d", 0, len(text), text, np.zeros(3, dtype=np.float32), dict(meta), frozenset())


def test_a_number_the_question_gives_must_be_in_the_passage_it_would_quote() -> None:
    window = [_sentence("Sony was targeted by hackers in November 2014.", title="Hacks", date="2015-01-02")]
    assert _absent_numbers(analyse("Which company was targeted by hackers in November 2004?"), window) == (
        "2004",
    )
    assert _absent_numbers(analyse("Which company was targeted by hackers in November 2014?"), window) == ()
    # the article's title and date count, and a two-digit year is the year it ends
    camp = [
        _sentence("Årets jobCAMP afholdes i Aalborg.", title="Borgeren før bureaukratiet", date="2019-11-07")
    ]
    assert _absent_numbers(analyse("I hvilken by blev jobCAMP 19 holdt?"), camp) == ()
    assert _absent_numbers(analyse("I hvilken by blev jobCAMP 2017 holdt?"), camp) == ("2017",)


def test_a_word_foreign_to_an_english_question_must_be_in_the_danish_articles(
    hybrid_service: Service,
) -> None:
    # No English dictionary knows "æbleskiver" and the articles never say it: nothing to translate it to.
    answer = hybrid_service.answer("Can you give me a recipe for æbleskiver?")
    assert answer.refused and not answer.citations
    assert "æbleskiver" in answer.reason
    # The articles' own word, foreign to English too, is found as written and answered from.
    answer = hybrid_service.answer("What did the Rudersdal mayor call an øjenåbner?")
    assert not answer.refused, answer.reason


def test_in_lexicon_knows_a_language_s_words_and_not_another_s() -> None:
    from retrieval.answering.language import in_lexicon

    assert in_lexicon("committee", "en") and in_lexicon("long-serving", "en")
    assert not in_lexicon("æbleskiver", "en") and not in_lexicon("jobcamp", "en")
    assert in_lexicon("æbleskiver", "da")


def test_a_capitalised_ordinary_word_of_an_english_question_is_not_taken_for_a_missing_name(
    hybrid_service: Service,
) -> None:
    # The committee's English name translates: the Danish article calls it "Arbejdsmarkeds- og Borgerserviceudvalg".
    answer = hybrid_service.answer("Who chairs KL's Labour Market and Citizen Services Committee?")
    assert not answer.refused, answer.reason
    assert "Kastrup-Larsen" in " ".join(c.quote for c in answer.citations)
    # A proper name the articles never give still refuses.
    answer = hybrid_service.answer("Who is the prime minister of Sweden?")
    assert answer.refused and "sweden" in answer.reason


def test_common_word_tells_ordinary_words_from_proper_names() -> None:
    from retrieval.answering.language import common_word

    assert common_word("Committee", "en") and common_word("Services", "en")
    assert not common_word("Copenhagen", "en") and not common_word("KL", "en")


def test_a_name_in_the_genitive_is_the_name_the_articles_use(hybrid_service: Service) -> None:
    # "Ives" is no word of the articles; "Ive" is.
    answer = hybrid_service.answer("Hvad er Jens Ives budskab til beskæftigelsesministeren?")
    assert not answer.refused, answer.reason
    assert "Lug ud i reglerne" in answer.text
