"""The fitted answerer's parameters: two logistic models over `retrieval.answering.features`, read from a small JSON file.

`benchmarks/fit_answerer.py` writes the file (with its provenance: training files and hashes, date, the
cross-validated figures); loading it is a JSON read and scoring is a dot product, so no learning library is
needed at run time.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.answering.features import ANSWERABILITY_FEATURES, SENTENCE_FEATURES, Evidence
from retrieval.errors import KildeError

PARAMS_VERSION = 1
DEFAULT_PARAMS = Path(__file__).with_name("answer_params.json")


@dataclass(frozen=True)
class Linear:
    """A standardised logistic model: sigmoid(((x - mean) / scale) @ coef + intercept)."""

    features: tuple[str, ...]
    mean: np.ndarray
    scale: np.ndarray
    coef: np.ndarray
    intercept: float

    def logit(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(((x - self.mean) / self.scale) @ self.coef + self.intercept)

    def probability(self, x: np.ndarray) -> np.ndarray:
        return np.asarray(1.0 / (1.0 + np.exp(-self.logit(x))))

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "mean": [round(float(v), 6) for v in self.mean],
            "scale": [round(float(v), 6) for v in self.scale],
            "coef": [round(float(v), 6) for v in self.coef],
            "intercept": round(float(self.intercept), 6),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: tuple[str, ...]) -> Linear:
        features = tuple(data["features"])
        if features != expected:
            raise ValueError(f"features {features} do not match the code's {expected}")
        arrays = [np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef")]
        if any(a.shape != (len(features),) for a in arrays):
            raise ValueError("mean, scale and coef must have one value per feature")
        return cls(
            features, arrays[0], np.where(arrays[1] > 0, arrays[1], 1.0), arrays[2], float(data["intercept"])
        )


@dataclass(frozen=True)
class Models:
    """Sentence ranker, answerability model and the refusal threshold on its probability."""

    ranker: Linear
    answerable: Linear
    threshold: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "ranker": self.ranker.to_dict(),
            "answerable": self.answerable.to_dict(),
            "threshold": round(self.threshold, 6),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Models:
        return cls(
            ranker=Linear.from_dict(data["ranker"], SENTENCE_FEATURES),
            answerable=Linear.from_dict(data["answerable"], ANSWERABILITY_FEATURES),
            threshold=float(data["threshold"]),
        )


@dataclass(frozen=True)
class AnswerParams:
    """Models for a question in the articles' language, and for one in another language (whose words, but for
    names and numbers, cannot be matched), plus where they came from."""

    same_language: Models
    cross_language: Models
    provenance: dict[str, Any]

    def models(self, cross_language: bool) -> Models:
        return self.cross_language if cross_language else self.same_language

    def rank(self, found: Evidence) -> np.ndarray:
        """The fitted ranker's score of each pooled candidate (the rows of `found.x`)."""
        return self.models(found.terms.cross_language).ranker.logit(found.x)

    def to_dict(self) -> dict[str, Any]:
        return {
            "version": PARAMS_VERSION,
            "same_language": self.same_language.to_dict(),
            "cross_language": self.cross_language.to_dict(),
            "provenance": self.provenance,
        }

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n", encoding="utf-8")


@functools.cache
def load_params(path: Path = DEFAULT_PARAMS) -> AnswerParams:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if data.get("version") != PARAMS_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {PARAMS_VERSION}")
        return AnswerParams(
            same_language=Models.from_dict(data["same_language"]),
            cross_language=Models.from_dict(data["cross_language"]),
            provenance=dict(data.get("provenance", {})),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KildeError(f"answerer parameters {path}: {exc} (re-run benchmarks/fit_answerer.py)") from None
