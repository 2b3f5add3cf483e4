"""Re-measure `.ci/eval-floors.yaml` from one `kilde eval --json` run, keeping each file's limits.

    uv run kilde eval tests/prompts --json > /tmp/eval.json
    uv run python benchmarks/eval_floors.py /tmp/eval.json   # rewrites .ci/eval-floors.yaml

Floors are the measured value - 0.02, ceilings + 0.02 (rates) or + 5 rounded up to 5 (words). The answers are
deterministic, so a lost case is a real change; run it only when the answerer got better, and say so in the commit.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path

FLOORS = Path(__file__).resolve().parents[1] / ".ci" / "eval-floors.yaml"


def limit(key: str, value: float) -> float:
    if key == "max_median_words":
        return float(math.ceil((value + 5) / 5) * 5)
    if key.startswith("max_"):
        return round(min(value + 0.02, 0.99), 2)
    return round(max(value - 0.02, 0.01), 2)


def main(run: Path) -> None:
    measured = json.loads(run.read_text(encoding="utf-8"))["summary"]["by_file"]
    out, scope = [], None
    for line in FLOORS.read_text(encoding="utf-8").splitlines():
        head = re.match(r"^(\w+):", line)
        item = re.match(r"^(\s+)((min|max)_(\w+)):", line)
        if head:
            scope = head.group(1)
            out.append(f"{scope}:  # {measured[scope]['cases']} cases")
        elif item and scope is not None:
            key, metric = item.group(2), item.group(4)
            value = float(measured[scope][metric])
            shown = f"{value:.1f}" if metric == "median_words" else f"{value:.3f}"
            number = limit(key, value)
            text = f"{number:g}" if metric == "median_words" else f"{number:.2f}"
            out.append(f"{item.group(1)}{key}: {text}  # {shown}")
        else:
            out.append(line)
    FLOORS.write_text("\n".join(out) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
