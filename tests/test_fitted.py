"""The fitted answerer's parameters: the shipped file loads, round-trips, and a broken one is one clear error."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.answering.features import ANSWERABILITY_FEATURES, SENTENCE_FEATURES
from retrieval.answering.parameters import DEFAULT_PARAMS, AnswerParams, Linear, Models, load_params
from retrieval.errors import KildeError


def _linear(features: tuple[str, ...], weight: float) -> Linear:
    n = len(features)
    return Linear(features, np.zeros(n), np.ones(n), np.full(n, weight), -1.0)


def test_the_shipped_parameters_load_with_their_provenance() -> None:
    params = load_params(DEFAULT_PARAMS)
    for models in (params.same_language, params.cross_language):
        assert models.ranker.features == SENTENCE_FEATURES
        assert models.answerable.features == ANSWERABILITY_FEATURES
        assert 0.0 < models.threshold < 1.0
    provenance = params.provenance
    assert provenance["training_files"] and provenance["date"]
    assert "cross_validated" in provenance and "training_fit" in provenance
    assert not any("heldout" in name or "paraphrase" in name for name in provenance["training_files"])


def test_parameters_round_trip(tmp_path: Path) -> None:
    models = Models(_linear(SENTENCE_FEATURES, 0.5), _linear(ANSWERABILITY_FEATURES, 0.25), 0.4)
    params = AnswerParams(models, models, {"a": 1})
    path = tmp_path / "p.json"
    params.save(path)
    loaded = load_params(path)
    x = np.arange(len(SENTENCE_FEATURES), dtype=float)[None, :]
    assert np.allclose(loaded.same_language.ranker.logit(x), models.ranker.logit(x))
    assert loaded.cross_language.threshold == 0.4
    assert loaded.provenance == {"a": 1}


def test_a_logistic_model_is_a_standardised_dot_product() -> None:
    model = Linear(("a", "b"), np.array([1.0, 0.0]), np.array([2.0, 1.0]), np.array([1.0, -1.0]), 0.5)
    assert model.logit(np.array([[3.0, 1.0]]))[0] == pytest.approx((3 - 1) / 2 - 1 + 0.5)
    assert model.probability(np.array([[1.0, 0.5]]))[0] == pytest.approx(0.5)


@pytest.mark.parametrize(
    "content",
    ["not json", json.dumps({"version": 99}), json.dumps({"version": 1, "ranker": {"features": ["x"]}})],
)
def test_a_broken_parameters_file_is_one_clear_error(tmp_path: Path, content: str) -> None:
    path = tmp_path / "broken.json"
    path.write_text(content)
    with pytest.raises(KildeError, match="answerer parameters"):
        load_params(path)


def test_a_sentence_that_says_he_or_she_is_read_as_naming_the_person_last_named() -> None:
    from retrieval.answering.features import candidates_from

    texts = [
        "I dag skifter Kim Them Serup til Vordingborg.",
        "Den 1. marts starter han som chef.",
        "Som formand glæder Anne Marie Holm sig.",
        "Han har ventet længe.",
    ]
    ends = np.cumsum([len(t) + 1 for t in texts])
    sentences = {
        "documents": texts,
        "metadatas": [
            {"doc_id": "d", "start": int(e - len(t) - 1), "end": int(e - 1)}
            for t, e in zip(texts, ends, strict=True)
        ],
        "embeddings": [np.zeros(3)] * len(texts),
    }
    cands = candidates_from(sentences, "da")
    assert cands[1].antecedent == {"kim", "them", "serup"} and "serup" in cands[1].lemmas
    assert cands[0].antecedent == frozenset()  # it names him itself
    assert cands[3].antecedent == {"anne", "marie", "holm"}  # the last one named, not the first
    # never across articles
    apart = [{**m, "doc_id": f"d{i}"} for i, m in enumerate(sentences["metadatas"])]
    assert candidates_from({**sentences, "metadatas": apart}, "da")[1].antecedent == frozenset()
