"""Re-measure `.ci/eval-floors.yaml` from `kilde eval --json` runs, keeping each file's limits.

    uv run kilde eval tests/prompts --json > /tmp/eval.json
    uv run kilde eval --corpus benchmarks/judge/newsroom/corpus benchmarks/judge/newsroom/questions.yaml \\
        --json > /tmp/judge.json
    uv run python benchmarks/eval_floors.py /tmp/eval.json /tmp/judge.json   # rewrites .ci/eval-floors.yaml

Floors are the measured value - 0.02, ceilings + 0.02 (rates) or + 5 rounded up to 5 (words). The answers are
deterministic, so a lost case is a real change; run it only when the answerer got better, and say so in the commit.
Files the runs did not score keep their limits; a file scored for the first time gets the standard set.
A held-out or judge file's limit (its role comes from tests/prompts/manifest.yaml) never gets looser silently:
that needs `--because "why"`, which adds the reason and the limits loosened to benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from retrieval.evaluation.manifest import PROTECTED, load_manifest  # noqa: E402

FLOORS = ROOT / ".ci" / "eval-floors.yaml"
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
LOOSENED_HEADING = "## Held-out and judge limits loosened"
STANDARD = (  # the limits a newly scored file gets, as every file in the floors file has them
    "min_overall",
    "min_answer_pass",
    "min_unanswerable_refused",
    "min_refusal_accuracy",
    "min_hit_at_k",
    "min_mrr",
    "min_recall_at_k",
    "min_citation_precision",
    "min_faithfulness",
    "max_answerable_refused",
    "max_median_words",
)


def limit(key: str, value: float) -> float:
    if key == "max_median_words":
        return float(math.ceil((value + 5) / 5) * 5)
    if key.startswith("max_"):
        return round(min(value + 0.02, 0.99), 2)
    return round(max(value - 0.02, 0.01), 2)


def _item(indent: str, key: str, value: float) -> str:
    metric = key.split("_", 1)[1]
    shown = f"{value:.1f}" if metric == "median_words" else f"{value:.3f}"
    number = limit(key, value)
    text = f"{number:g}" if metric == "median_words" else f"{number:.2f}"
    return f"{indent}{key}: {text}  # {shown}"


def _looser(key: str, old: float, new: float) -> bool:
    return new < old if key.startswith("min_") else new > old


def rewrite(text: str, measured: dict[str, dict[str, float | None]], protected: set[str]) -> tuple[str, list[str]]:
    """The floors file re-measured, and the held-out or judge limits that got looser ("scope key old -> new")."""
    out: list[str] = []
    loosened: list[str] = []
    scope: str | None = None
    for line in text.splitlines():
        head = re.match(r"^([\w-]+):", line)
        item = re.match(r"^(\s+)((min|max)_(\w+)):\s*([0-9.]+)", line)
        if head:
            scope = head.group(1)
            out.append(f"{scope}:  # {measured[scope]['cases']} cases" if scope in measured else line)
        elif item and scope in measured:
            key, metric, old = item.group(2), item.group(4), float(item.group(5))
            value = measured[scope][metric]
            if value is None:
                sys.exit(f"eval_floors.py: {scope}: {metric} was not measured; remove its limit by hand")
            new = limit(key, float(value))
            if scope in protected and _looser(key, old, new):
                loosened.append(f"{scope} {key} {old:g} -> {new:g}")
            out.append(_item(item.group(1), key, float(value)))
        else:
            out.append(line)
    known = {m.group(1) for m in re.finditer(r"^([\w-]+):", text, re.M)}
    for new_scope in [s for s in measured if s not in known]:
        out.append(f"{new_scope}:  # {measured[new_scope]['cases']} cases")
        for key in STANDARD:
            value = measured[new_scope].get(key.split("_", 1)[1])
            if value is not None:
                out.append(_item("  ", key, float(value)))
    return "\n".join(out) + "\n", loosened


def record_reason(loosened: list[str], because: str) -> None:
    """One line after the last of RESULTS.md's list of loosened limits (the section is made when missing)."""
    text = RESULTS.read_text(encoding="utf-8")
    if LOOSENED_HEADING not in text:
        text = text.rstrip("\n") + f"\n\n{LOOSENED_HEADING}\n\nWritten by benchmarks/eval_floors.py.\n"
    line = f"- {dt.date.today().isoformat()}: {'; '.join(loosened)}. Why: {because}\n"
    start = text.index(LOOSENED_HEADING) + len(LOOSENED_HEADING)
    after = re.search(r"\n#{2,} ", text[start:])  # the list ends at the next heading, a subsection's too
    end = len(text) if after is None else start + after.start() + 1
    section = text[:end].rstrip("\n") + "\n" + line
    RESULTS.write_text(section + ("\n" + text[end:] if end < len(text) else ""), encoding="utf-8")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("runs", nargs="+", type=Path, help="kilde eval --json outputs")
    parser.add_argument("--because", help="why a held-out or judge limit may get looser (goes to RESULTS.md)")
    args = parser.parse_args(argv)
    measured: dict[str, dict[str, float | None]] = {}
    for run in args.runs:
        measured.update(json.loads(run.read_text(encoding="utf-8"))["summary"]["by_file"])
    manifest = load_manifest()
    protected = manifest.labels(*PROTECTED)
    text, loosened = rewrite(FLOORS.read_text(encoding="utf-8"), measured, protected)
    if loosened and not args.because:
        sys.exit(f"eval_floors.py: held-out or judge limits would get looser ({'; '.join(loosened)}); say why with --because")
    if loosened:
        record_reason(loosened, args.because)
    FLOORS.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
