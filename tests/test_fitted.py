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
