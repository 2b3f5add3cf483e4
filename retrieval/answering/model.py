"""The fitted answerer's parameters: a sentence ranker, an answerability model with its refusal threshold, and
when to quote a second sentence, read from strict JSON with a fingerprint of the code that computes the features.

`benchmarks/fit_answerer.py` writes the file (with its provenance: training files and hashes, date, the
cross-validated figures); loading it is a JSON read and scoring is a dot product, so no learning library is
needed at run time.
"""

from __future__ import annotations

import functools
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.answering.features import ANSWERABILITY_FEATURES, SENTENCE_FEATURES
from retrieval.answering.lexicon import read_hand_set
from retrieval.errors import KildeError

PARAMS_VERSION = 2  # of the file's layout
DECIMALS = 6  # the fitted numbers are written rounded: far finer than the fit is sure of, and a readable diff
DEFAULT_PARAMS = Path(__file__).with_name("answer_params.json")
_HERE = Path(__file__).parent
# The code and data that turn a question and its passages into features, and the hand-set numbers of the
# sections `FITTED_WITH` of hand_set.yaml: fitted weights hold only for these.
FEATURE_SOURCES = (
    _HERE / "features.py",
    _HERE / "question.py",
    _HERE / "lexicon.py",
    _HERE / "language.py",
    _HERE / "lexicon" / "da.yaml",
    _HERE / "lexicon" / "en.yaml",
    _HERE.parent / "text.py",
)
FITTED_WITH = ("features", "passage")


def code_fingerprint() -> str:
    digest = hashlib.sha256()
    for path in FEATURE_SOURCES:
        digest.update(path.name.encode() + b"\0" + path.read_bytes().replace(b"\r\n", b"\n"))
    hand_set = read_hand_set()
    digest.update(json.dumps({s: hand_set[s] for s in FITTED_WITH}, sort_keys=True).encode())
    return digest.hexdigest()[:16]  # 64 bits tell code versions apart


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
        return np.asarray(np.exp(-np.logaddexp(0.0, -self.logit(x))))  # 1 / (1 + e^-z), without overflow

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            **{k: [round(float(v), DECIMALS) for v in getattr(self, k)] for k in ("mean", "scale", "coef")},
            "intercept": round(float(self.intercept), DECIMALS),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any], expected: tuple[str, ...]) -> Linear:
        features = tuple(data["features"])
        if features != expected:
            raise ValueError(f"features {features} do not match the code's {expected}")
        mean, scale, coef = (np.asarray(data[k], dtype=np.float64) for k in ("mean", "scale", "coef"))
        if any(a.shape != (len(features),) for a in (mean, scale, coef)):
            raise ValueError("mean, scale and coef must have one value per feature")
        return cls(features, mean, np.where(scale > 0, scale, 1.0), coef, float(data["intercept"]))


@dataclass(frozen=True)
class AnswerParams:
    ranker: Linear
    answerable: Linear
    threshold: float  # refuse below this answerability probability
    second_gap: float  # quote the runner-up too when its score is within this of the best's
    fingerprint: str
    provenance: dict[str, Any]

    def to_json(self) -> str:
        data = {
            "version": PARAMS_VERSION,
            "fingerprint": self.fingerprint,
            "ranker": self.ranker.to_dict(),
            "answerable": self.answerable.to_dict(),
            "threshold": round(self.threshold, DECIMALS),
            "second_gap": round(self.second_gap, DECIMALS),
            "provenance": self.provenance,
        }
        return json.dumps(data, indent=1, ensure_ascii=False, allow_nan=False) + "\n"


def _no_constants(name: str) -> float:
    raise ValueError(f"{name} is not strict JSON")


@functools.cache
def load_params(path: Path = DEFAULT_PARAMS) -> AnswerParams:
    try:
        data = json.loads(path.read_text(encoding="utf-8"), parse_constant=_no_constants)
        if data.get("version") != PARAMS_VERSION:
            raise ValueError(f"version {data.get('version')!r}, expected {PARAMS_VERSION}")
        return AnswerParams(
            ranker=Linear.from_dict(data["ranker"], SENTENCE_FEATURES),
            answerable=Linear.from_dict(data["answerable"], ANSWERABILITY_FEATURES),
            threshold=float(data["threshold"]),
            second_gap=float(data["second_gap"]),
            fingerprint=str(data["fingerprint"]),
            provenance=dict(data.get("provenance", {})),
        )
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise KildeError(f"answerer parameters {path}: {exc} (re-run benchmarks/fit_answerer.py)") from None
