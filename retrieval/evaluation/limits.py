"""Floors and ceilings on evaluation metrics, for the whole run or for one prompt file.

A floors file (`kilde eval --floors FILE`) is YAML: a mapping from scope to limits. A scope is a prompt file's
label (its stem, e.g. `heldout`) or `all` for every file pooled; a limit is `min_<metric>` (a floor) or
`max_<metric>` (a ceiling) for a metric of `retrieval.evaluation.metrics.METRICS`:

    dev:
      min_answer_pass: 0.85
      max_median_words: 40
    heldout:
      min_overall: 0.6

Every limit must be able to fail: a floor of 0, or a ceiling of 1 on a rate, is refused, and a limit on a metric
no case counts towards fails.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import yaml

from retrieval.errors import UsageError
from retrieval.evaluation.metrics import METRICS, Evaluation, Metrics

ALL = "all"  # the scope of every case pooled


@dataclass(frozen=True)
class Threshold:
    metric: str  # a key of METRICS
    limit: float
    kind: Literal["min", "max"]
    scope: str = ALL  # a prompt file's label, or ALL

    @property
    def key(self) -> str:
        return f"{self.kind}_{self.metric}"


@dataclass(frozen=True)
class ThresholdResult:
    threshold: Threshold
    value: float | None

    @property
    def ok(self) -> bool:
        if self.value is None:
            return False
        if self.threshold.kind == "min":
            return self.value >= self.threshold.limit
        return self.value <= self.threshold.limit

    def message(self) -> str:
        t = self.threshold
        where = "" if t.scope == ALL else f"{t.scope}: "
        if self.value is None:
            return f"{where}{t.metric} was not measured (no case counts towards it); its limit is {t.limit:g}"
        relation = "is below the floor" if t.kind == "min" else "is above the ceiling"
        return f"{where}{t.metric} {_format_number(self.value)} {relation} {t.limit:g}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "scope": self.threshold.scope,
            "metric": self.threshold.metric,
            "kind": self.threshold.kind,
            "limit": self.threshold.limit,
            "value": None if self.value is None else round(self.value, 4),
            "ok": self.ok,
        }


def check_threshold(threshold: Threshold) -> None:
    """A limit that names a known metric and can fail; one `UsageError` otherwise."""
    where = "" if threshold.scope == ALL else f"{threshold.scope}: "
    if threshold.metric not in METRICS:
        known = ", ".join(f"min_{m}/max_{m}" for m in METRICS)
        raise UsageError(f"{where}unknown metric {threshold.metric!r} (known: {known})")
    rate = METRICS[threshold.metric][1] == "rate"
    if threshold.kind == "min" and threshold.limit <= 0:
        raise UsageError(
            f"{where}{threshold.key} {threshold.limit:g} can never fail; a floor must be above 0"
        )
    if threshold.kind == "max" and rate and threshold.limit >= 1:
        raise UsageError(
            f"{where}{threshold.key} {threshold.limit:g} can never fail; a ceiling must be below 1"
        )
    if threshold.limit < 0 or (rate and threshold.limit > 1):
        raise UsageError(f"{where}{threshold.key} {threshold.limit:g} is out of range")


def check_thresholds(metrics: Metrics, thresholds: Iterable[Threshold]) -> list[ThresholdResult]:
    """Every threshold against one set of metrics (whatever their scopes say)."""
    results = []
    for threshold in thresholds:
        check_threshold(threshold)
        results.append(ThresholdResult(threshold, getattr(metrics, threshold.metric)))
    return results


def check_limits(
    evaluation: Evaluation, thresholds: Sequence[Threshold], known: Collection[str] = ()
) -> list[ThresholdResult]:
    """Each threshold against the metrics of its scope: every case pooled, or one prompt file."""
    by_file = evaluation.by_file()
    scopes = {ALL: evaluation.overall(), **by_file}
    results = []
    for threshold in thresholds:
        if threshold.scope not in scopes and threshold.scope in known:
            continue  # a manifest file scored in another run
        if threshold.scope not in scopes:
            raise UsageError(f"limits for {threshold.scope!r}, but no prompt file of that name was scored")
        results.extend(check_thresholds(scopes[threshold.scope], [threshold]))
    return results


def load_floors(path: Path) -> list[Threshold]:
    """The limits of a floors file (see the module docstring); one `UsageError` naming the file for a problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or type(exc).__name__}") from None
    except (UnicodeDecodeError, yaml.YAMLError, ValueError, TypeError, OverflowError):  # also `!!int 0.5`
        raise UsageError(f"{path}: not a valid YAML file") from None
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to read") from None
    if not isinstance(data, dict) or not data:
        raise UsageError(f"{path}: expected a mapping of prompt file (or 'all') to limits, e.g. dev: {{...}}")
    out = []
    for scope, limits in data.items():
        if not isinstance(scope, str) or not scope.strip():
            raise UsageError(f"{path}: {scope!r}: a scope must be a prompt file's name or 'all'")
        if not isinstance(limits, dict) or not limits:
            raise UsageError(f"{path}: {scope}: expected a mapping of limits, e.g. min_answer_pass: 0.8")
        for key, value in limits.items():
            kind, _, metric = str(key).partition("_")
            if kind not in ("min", "max") or not metric:
                raise UsageError(f"{path}: {scope}: {key!r}: a limit is min_<metric> or max_<metric>")
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise UsageError(f"{path}: {scope}: {key}: must be a number, not {value!r}")
            threshold = Threshold(metric, float(value), "min" if kind == "min" else "max", scope.strip())
            try:
                check_threshold(threshold)
            except UsageError as exc:
                raise UsageError(f"{path}: {exc}") from None
            out.append(threshold)
    return out


def check_scopes(
    thresholds: Sequence[Threshold], labels: Collection[str], source: str, known: Collection[str] = ()
) -> None:
    """With a floors file, every prompt file scored has limits of its own and every scope is a file scored or
    `known` (a file of the prompt manifest scored in another run, e.g. with its own --corpus): its limits wait."""
    scopes = {t.scope for t in thresholds}
    for scope in sorted(scopes - {ALL} - set(known)):
        if scope not in labels:
            raise UsageError(
                f"{source}: limits for {scope!r}, but no prompt file of that name is being scored"
            )
    for label in labels:
        if label not in scopes:
            raise UsageError(f"{source}: no limits for the prompt file {label!r}; every file needs its own")


def _format_number(value: float) -> str:
    return f"{value:.3f}" if value < 10 else f"{value:,.0f}"
