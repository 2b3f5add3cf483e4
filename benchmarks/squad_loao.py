"""Leave-one-article-out on the outside SQuAD set, measured with `kilde eval` itself.

    uv run --group fit python benchmarks/squad_loao.py --work /tmp/kilde-fit

For each of the four articles in ../shared/eval/squad: fit the answerer without it (benchmarks/fit_answerer.py
--without, from the cached candidates; with --cv-only figures skipped), then score its questions with `kilde eval` over the whole SQuAD index
using those parameters; once as fitted, once with the same ranker never refusing. Prints per article and the
mean (unanswerable figures over the articles that have unanswerable questions) beside "refuse everything".
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SQUAD = ROOT.parent / "shared" / "eval" / "squad"


def run(cmd: list[str], env: dict[str, str] | None = None) -> str:
    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        sys.exit(f"failed: {' '.join(cmd)}\n{done.stderr[-2000:]}")
    return done.stdout


def never_refusing(params: Path, out: Path) -> None:
    data = json.loads(params.read_text())
    data["threshold"] = 0.0
    out.write_text(json.dumps(data))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--work", type=Path, required=True, help="Where fit_answerer.py keeps its indexes and cache.")
    parser.add_argument("--sets", default="squad,danish,newsroom,newsroom2", help="fit_answerer.py's data sets (comma-separated).")
    args = parser.parse_args()
    cases = yaml.safe_load((SQUAD / "questions.yaml").read_text())["cases"]
    articles = sorted({t for c in cases for t in c["tags"] if t != "squad"})
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for article in articles:
            params = Path(tmp) / f"{article}.json"
            run(
                [sys.executable, "benchmarks/fit_answerer.py", "--work", str(args.work), "--without", article, "--sets", args.sets, "--out", str(params)]
            )
            subset = Path(tmp) / f"{article}.yaml"
            subset.write_text(yaml.safe_dump({"cases": [c for c in cases if article in c["tags"]]}, allow_unicode=True))
            row: dict[str, object] = {"article": article}
            never = Path(tmp) / f"{article}-never.json"
            never_refusing(params, never)
            for label, path in (("fitted", params), ("never_refuse", never)):
                env = {
                    **os.environ,
                    "KILDE_ANSWER_PARAMS": str(path),
                    "KILDE_CORPUS_DIR": str(SQUAD / "corpus"),
                    "KILDE_DATA_DIR": str(args.work / "squad"),
                }
                out = json.loads(run([sys.executable, "-m", "bot", "eval", str(subset), "--json"], env))
                overall = out["summary"]["overall"] if "summary" in out else out["overall"]
                row[label] = {
                    k: overall.get(k)
                    for k in ("answer_pass", "unanswerable_refused", "overall", "median_words", "cases")
                }
            rows.append(row)
            print(json.dumps(row), file=sys.stderr)
    fitted = [r["fitted"] for r in rows]
    never_rows = [r["never_refuse"] for r in rows]

    def mean(values: list[dict[str, object]], key: str) -> float:
        got = [float(v[key]) for v in values if v.get(key) is not None]  # type: ignore[arg-type]
        return round(statistics.mean(got), 3) if got else float("nan")

    unanswerable_share = statistics.mean(
        sum(1 for c in cases if article in c["tags"] and c.get("answerable") is False)
        / sum(1 for c in cases if article in c["tags"])
        for article in articles
    )
    print("\n| system | answerable pass | unanswerable refused | overall | median words |")
    print("|---|---|---|---|---|")
    for name, values in (("kilde (left-out article)", fitted), ("same ranker, never refuse", never_rows)):
        print(
            f"| {name} | {mean(values, 'answer_pass')} | {mean(values, 'unanswerable_refused')} | "
            f"{mean(values, 'overall')} | {mean(values, 'median_words')} |"
        )
    print(f"| refuse everything | 0 | 1.0 | {unanswerable_share:.3f} | 0 |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
