"""The hybrid answerer (`KILDE_ANSWERER=hybrid`): the fitted ranker picks the sentence, the rules' gates refuse."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.answering.extractive import ExtractiveAnswerer
from retrieval.answering.parameters import DEFAULT_PARAMS, load_params
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
