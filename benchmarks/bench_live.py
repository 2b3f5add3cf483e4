"""The live check's cost per question on a 5,000-article corpus, and edits it must not miss.

    uv run --frozen python benchmarks/bench_live.py [--articles 5000] [--questions 200] [--folders 50] [--seed 1]

Before every question an open chat or the bot checks the article files (`retrieval.live.LiveService.refresh`:
names, sizes and modification times of every file, and the content of files changed within the last two seconds
before the last ingest). This measures that check on a corpus of `--articles` files in `--folders` folders:

- settled: the usual case, every file last changed long before the last ingest;
- just written: every file written right before the ingest, so every one is also compared by content (the worst
  case, until the next ingest);
- edits: `--questions` times, one random article is rewritten with the same size, and the check must report the
  corpus changed; every other time it is then written again and its modification time set back to that of the
  first write, as a second write within one timestamp tick leaves it, and that must be seen too. A miss would be
  a stale answer.

The index itself is not built (the check reads only the files and state.json; the per-question costs of syncing
a changed article are ingest's). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.index.ingest import is_stale, watch_state  # noqa: E402
from retrieval.index.store import IngestReport, read_state, write_state  # noqa: E402
from retrieval.live import LiveService  # noqa: E402
from retrieval.settings import Settings  # noqa: E402


def write_corpus(folder: Path, articles: int, folders: int, rng: random.Random) -> list[Path]:
    paragraphs = [
        p.strip()
        for article in sorted((ROOT / "corpus").glob("*.md"))
        for p in article.read_text(encoding="utf-8").split("\n\n")
        if len(p.strip()) > 80 and not p.startswith("---")
    ]
    paths = []
    for i in range(articles):
        sub = folder / f"part-{i % folders:03d}"
        sub.mkdir(parents=True, exist_ok=True)
        body = "\n\n".join(rng.sample(paragraphs, 4))
        path = sub / f"article-{i:05d}.md"
        path.write_text(f"---\ntitle: Artikel {i}\n---\n{body}\n", encoding="utf-8")
        paths.append(path)
    return paths


def record(settings: Settings, corpus: Path) -> None:
    """What ingest records about the files at its end (the index itself is not needed for the check)."""
    state = read_state(settings.data_dir)
    state.update(watch_state([corpus], settings))
    state["paths"] = [str(corpus.resolve())]
    write_state(settings.data_dir, state)


def check_costs(service: LiveService, runs: int) -> dict[str, float]:
    """Wall time per check, and CPU time (the wall time of a machine with nothing else to do, near enough)."""
    times, cpu = [], []
    for _ in range(runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        line = service.refresh()
        times.append((time.perf_counter() - started) * 1000)
        cpu.append((time.process_time() - started_cpu) * 1000)
        assert line == "", line  # nothing changed: nothing synced
    times.sort()
    return {
        "p50_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
        "max_ms": round(times[-1], 2),
        "cpu_p50_ms": round(statistics.median(cpu), 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--articles", type=int, default=5000)
    parser.add_argument("--folders", type=int, default=50)
    parser.add_argument("--questions", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    work = Path(tempfile.mkdtemp(prefix="kilde-live-"))
    try:
        corpus, data = work / "corpus", work / "data"
        data.mkdir()
        paths = write_corpus(corpus, args.articles, args.folders, rng)
        settings = Settings(data_dir=data, corpus_dir=corpus, embedder="fake")
        syncs: list[list[Path]] = []

        def sync(given: Any) -> IngestReport:
            syncs.append(list(given))
            record(settings, corpus)
            return IngestReport()

        record(settings, corpus)  # right after writing: every file is "just written"
        service = LiveService(settings, build=lambda: None, sync=sync, notify=lambda _: None)  # type: ignore[arg-type,return-value]
        just_written = check_costs(service, 20)
        racy = len(read_state(data).get("racy_files", {}))

        an_hour_ago = time.time_ns() - 3600 * 10**9
        for path in paths:
            os.utime(path, ns=(an_hour_ago, an_hour_ago))
        record(settings, corpus)
        settled = check_costs(service, args.questions)

        missed = edits = 0
        for n in range(args.questions):
            path = rng.choice(paths)
            text = path.read_text(encoding="utf-8")
            for second in (False, True) if n % 2 else (False,):
                before = path.stat()
                text = text[:-2] + ("x" if text[-2] != "x" else "y") + "\n"  # same size, other text
                path.write_text(text, encoding="utf-8")
                if second:  # written again within the tick of the last: the time is unchanged
                    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
                edits += 1
                missed += not is_stale(settings, [corpus])
                record(settings, corpus)  # what the sync records after it read the file
        print(
            json.dumps(
                {
                    "articles": args.articles,
                    "folders": args.folders,
                    "check_settled": settled,
                    "check_just_written": just_written | {"files_compared_by_content": racy},
                    "edits": edits,
                    "edits_missed": missed,
                }
            )
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
