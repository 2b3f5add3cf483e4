"""Core benchmark: index the bundled corpus, cold `kilde ask`, warm answer latency over the test prompts.

    uv run python benchmarks/bench_core.py [--repeat 5] [--smoke]

Reports percentiles and the ratio to each target (ratio < 1 meets it). All CPU, no model server.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.indexer import Indexer  # noqa: E402
from retrieval.service import build_service  # noqa: E402
from retrieval.settings import Settings  # noqa: E402
from retrieval.types import Turn  # noqa: E402


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def row(name: str, value: float, unit: str, target: float | None) -> str:
    ratio = f"{value / target:.2f}" if target else "-"
    return f"| {name} | {value:,.1f} {unit} | {f'{target:,.0f} {unit}' if target else '-'} | {ratio} |"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--smoke", action="store_true", help="one repetition, for CI")
    parser.add_argument(
        "--answerer", choices=["learned"], default=Settings().answerer, help="Default: the product's."
    )
    args = parser.parse_args()
    repeat = 1 if args.smoke else args.repeat
    data = Path(tempfile.mkdtemp(prefix="kilde-bench-"))
    settings = Settings(data_dir=data, answerer=args.answerer)

    started = time.perf_counter()
    report = Indexer(settings).ingest([settings.corpus_dir])  # as `kilde ingest`: latent terms made too
    index_s = time.perf_counter() - started

    env = {**os.environ, "KILDE_DATA_DIR": str(data), "KILDE_ANSWERER": args.answerer}
    cold = []
    for _ in range(max(1, repeat // 2 + 1)):
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "bot", "ask", "Hvem er næstformand i HK Kommunal?"],
            cwd=ROOT, env=env, check=True, capture_output=True,
        )
        cold.append(time.perf_counter() - started)

    service = build_service(settings)
    cases = []
    for name in ("dev.yaml", "extra.yaml"):
        path = ROOT / "tests" / "prompts" / name
        if path.exists():
            cases += yaml.safe_load(path.read_text())["cases"]
    warm: list[float] = []
    retrieve: list[float] = []
    for _ in range(repeat):
        for case in cases:
            history = [Turn(q) for q in case.get("history", []) or []]
            answer = service.answer(case["question"], history)
            warm.append(answer.timings_ms["total"])
            retrieve.append(answer.timings_ms["retrieve"])

    print(f"answerer: {args.answerer}; machine: {os.cpu_count()} cores; corpus: {len(report.added)} articles, {report.chunks_added} chunks")
    print(f"questions: {len(cases)} x {repeat}\n")
    print("| measure | value | target | ratio |\n|---|---|---|---|")
    print(row("index the bundled corpus (empty cache)", index_s, "s", 30))
    print(row("cold `kilde ask`, existing index, p50", statistics.median(cold), "s", 2))
    print(row("warm answer p50", percentile(warm, 50), "ms", 50))
    print(row("warm answer p95", percentile(warm, 95), "ms", None))
    print(row("warm retrieval p50", percentile(retrieve, 50), "ms", None))
    print(row("warm retrieval p95", percentile(retrieve, 95), "ms", None))


if __name__ == "__main__":
    main()
