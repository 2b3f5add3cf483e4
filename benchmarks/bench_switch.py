"""An interrupted corpus switch: `kill -9` at random moments of `kilde ingest NEWPATH`, then `kilde ask`.

    uv run --frozen python benchmarks/bench_switch.py [--kills 10] [--seed 1] [--articles 10] [--json]

Two corpora with no article in common: OLD (the bundled corpus/) and NEW (synthetic articles from synth.py). Each
round starts from an index of OLD, starts `kilde ingest NEW` as a process of its own, kills it with SIGKILL at a
random moment while it changes the index (uniform from its first write of state.json, made just before it changes
Chroma, over as long as that took to the end in a calibration run: start-up before it changes nothing), then asks
questions with `kilde ask --json`. It checks:

- every answer retrieves and cites articles of one corpus only;
- stderr has a line naming the corpus the answer came from;
- the first command repaired the index: no update is left pending, and Chroma holds the same rows as the copy
  questions are answered from (a second `ask` has nothing left to repair).

The embedder is the fake one (KILDE_EMBEDDER=fake): what is tested is the switch, not the vectors. Prints one line
per round and a summary; exits 1 if any round broke a rule.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KILDE = [sys.executable, "-c", "from bot.cli.main import main; main()"]
QUESTIONS = [
    "Hvem er Troels Lund Poulsen?",
    "Hvad skete der i Humlebæk?",
    "Hvornår blev foreningen stiftet?",
]
# Run in a process of its own (Chroma keeps one client per path for the life of a process): the document ids in
# Chroma and in the copy questions are answered from.
CHROMA_VS_COPY = """
import json, sys
from pathlib import Path
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.index.snapshot import SnapshotIndex
from retrieval.index.store import Index, open_client
from retrieval.settings import Settings
settings = Settings()
copy = SnapshotIndex.load(settings.data_dir, settings.collection, settings.embedder)
chroma = Index(open_client(settings), FakeEmbeddings(), settings.collection, settings.embedder)
print(json.dumps({
    "copy": sorted(copy.chunk_ids) if copy else None,
    "chroma": sorted(chroma.chunk_ids()),
}))
"""


@dataclass
class Round:
    moment: float  # seconds after the ingest first wrote state.json
    phase: (
        str  # where the kill landed: before the change, during the change, after the switch, after it ended
    )
    answered_from: list[str] = field(default_factory=list)  # per question: "old", "new", "mixed" or "none"
    named: list[bool] = field(default_factory=list)  # per question: a stderr line names that corpus
    repair_line: str = ""
    repaired: bool = False
    second_ask_quiet: bool = False

    @property
    def ok(self) -> bool:
        one_corpus = all(a in ("old", "new") for a in self.answered_from)
        return one_corpus and all(self.named) and self.repaired and self.second_ask_quiet


def run(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    done = subprocess.run(
        [*KILDE, *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=900, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"kilde {' '.join(args)} failed: {done.stderr.strip()[-500:]}")
    return done


def state(data: Path) -> dict[str, object]:
    try:
        loaded = json.loads((data / "state.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def timed_ingest(env: dict[str, str], data: Path, corpus: Path) -> tuple[float, float]:
    """Seconds until the ingest first wrote state.json (just before it changes Chroma), and until it ended."""
    started = time.monotonic()
    before = state(data)
    proc = subprocess.Popen([*KILDE, "ingest", str(corpus)], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    pending_at = None
    while proc.poll() is None:
        if pending_at is None and state(data) != before:
            pending_at = time.monotonic() - started
        time.sleep(0.05)
    ended = time.monotonic() - started
    if proc.returncode != 0:
        raise SystemExit("the calibration ingest failed")
    return (pending_at if pending_at is not None else 0.0), ended


def corpus_of(docs: set[str], old: set[str], new: set[str]) -> str:
    if not docs:
        return "none"
    if docs <= old:
        return "old"
    if docs <= new:
        return "new"
    return "mixed"


def one_round(
    env: dict[str, str], data: Path, old: Path, new: Path, moment: float, ids: dict[str, set[str]]
) -> Round:
    before = state(data)
    proc = subprocess.Popen([*KILDE, "ingest", str(new)], env=env, cwd=ROOT, stderr=subprocess.DEVNULL)
    while proc.poll() is None and state(data) == before:  # start-up, which changes nothing, takes a while
        time.sleep(0.02)
    time.sleep(moment)
    ended = proc.poll() is not None
    if not ended:
        proc.send_signal(signal.SIGKILL)
    proc.wait()
    left = state(data)
    if ended:
        phase = "after it ended"
    elif "pending_update" in left:
        phase = "during the change"
    else:
        phase = "after the switch" if left.get("paths") == [str(new)] else "before the change"
    result = Round(moment, phase)
    for i, question in enumerate(QUESTIONS):
        asked = run(env, "ask", "--json", question)
        answer = json.loads(asked.stdout)
        docs = {str(r["doc_id"]) for r in answer.get("retrieved", [])} | {
            str(c["doc_id"]) for c in answer.get("citations", [])
        }
        source = corpus_of(docs, ids["old"], ids["new"])
        result.answered_from.append(source)
        folder = str(old if source == "old" else new)
        result.named.append(any(folder in line for line in asked.stderr.splitlines()))
        if i == 0:
            result.repair_line = next((ln for ln in asked.stderr.splitlines() if "interrupted" in ln), "")
            left = state(data)
            rows = json.loads(
                subprocess.run(
                    [sys.executable, "-c", CHROMA_VS_COPY],
                    env=env,
                    cwd=ROOT,
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
            )
            result.repaired = "pending_update" not in left and rows["copy"] == rows["chroma"]
        else:
            result.second_ask_quiet = "interrupted" not in asked.stderr
    run(env, "ingest", str(old))  # the next round starts from the old corpus again
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--kills", type=int, default=10)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--articles", type=int, default=10, help="articles in the new corpus")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of lines")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="kilde-switch-"))
    try:
        old, new, data = work / "old", work / "new", work / "data"
        shutil.copytree(ROOT / "corpus", old)
        synth = work / "synth"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "synth.py"),
                "--chunks",
                str(args.articles * 30),
                "--out",
                str(synth),
                "--seed",
                str(args.seed),
            ],
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        new.mkdir()
        for article in sorted(synth.glob("*.md")):
            shutil.copy(article, new / article.name)
        ids = {"old": {p.stem for p in old.glob("*.md")}, "new": {p.stem for p in new.glob("*.md")}}
        env = {k: v for k, v in os.environ.items() if not k.startswith("KILDE_")}
        env.update(KILDE_EMBEDDER="fake", KILDE_DATA_DIR=str(data), ANONYMIZED_TELEMETRY="False")
        run(env, "ingest", str(old))
        pending_at, ended_at = timed_ingest(env, data, new)
        run(env, "ingest", str(old))
        rounds = []
        for _ in range(args.kills):
            moment = rng.uniform(0, ended_at - pending_at)
            rounds.append(one_round(env, data, old, new, moment, ids))
            if not args.json:
                r = rounds[-1]
                print(
                    f"kill at {r.moment:5.1f} s ({r.phase}): answers from {', '.join(r.answered_from)}; "
                    f"corpus named: {all(r.named)}; repaired: {r.repaired}; "
                    f"second ask quiet: {r.second_ask_quiet}; {'ok' if r.ok else 'FAILED'}"
                    + (f"\n    {r.repair_line}" if r.repair_line else ""),
                    flush=True,
                )
        summary = {
            "kills": len(rounds),
            "ok": sum(r.ok for r in rounds),
            "during_the_change": sum(r.phase == "during the change" for r in rounds),
            "calibration": {"pending_at": round(pending_at, 1), "ended_at": round(ended_at, 1)},
            "rounds": [asdict(r) | {"ok": r.ok} for r in rounds],
        }
        if args.json:
            print(json.dumps(summary))
        else:
            print(
                f"{summary['ok']}/{summary['kills']} rounds ok ({summary['during_the_change']} killed while the "
                f"index was being changed; calibration: change from {pending_at:.1f} s to {ended_at:.1f} s)"
            )
        return 0 if summary["ok"] == summary["kills"] else 1
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
