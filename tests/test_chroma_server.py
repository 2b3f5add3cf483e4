"""The index on a real Chroma server (`KILDE_CHROMA_URL`): ingest, ask, chat, re-ingest, two writers, no server.

One server per module, on 127.0.0.1 at a free port over a temporary directory; each test uses its own
collection. Fake embeddings throughout: what is tested is the store, not the embedder.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from retrieval.index import embeddings as embeddings_module
from retrieval.index.articles import load_articles
from retrieval.index.chunks import chunk_article, sentence_records
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.index.ingest import ingest
from retrieval.index.snapshot import SnapshotIndex
from retrieval.service import build_embeddings, open_index
from retrieval.settings import PROJECT_ROOT, Settings
from tests.conftest import CORPUS

CHROMA = Path(sys.executable).parent / "chroma"
if not CHROMA.exists():
    CHROMA = Path(shutil.which("chroma") or CHROMA)

pytestmark = [
    pytest.mark.server,
    pytest.mark.skipif(
        not CHROMA.exists(), reason="the `chroma` server binary is not installed (pip install chromadb)"
    ),
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def chroma_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Chroma server of our own; its heartbeat answers within 30 s or the tests fail with its log."""
    root = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = root / "server.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [str(CHROMA), "run", "--path", str(root / "data"), "--host", "127.0.0.1", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "ANONYMIZED_TELEMETRY": "False", "NO_COLOR": "1"},
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"the Chroma server exited ({proc.returncode}): {log_path.read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1) as response:
                    if response.status == 200 and proc.poll() is None:  # ours, not someone else's on the port
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the Chroma server did not answer within 30 s: {log_path.read_text()[-2000:]}")
            time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@pytest.fixture
def server_settings(chroma_url: str, tmp_path: Path, corpus_copy: Path) -> Settings:
    return Settings(
        data_dir=tmp_path / "data",
        corpus_dir=corpus_copy,
        embedder="fake",
        chroma_url=chroma_url,
        collection=f"t{uuid.uuid4().hex[:12]}",
    )


def expected_ids(corpus: Path) -> tuple[set[str], set[str]]:
    articles, problems = load_articles([corpus])
    assert not problems
    chunks = {c.chunk_id for a in articles for c in chunk_article(a, 160, 40)}
    sentences = {s.sentence_id for a in articles for s in sentence_records(a)}
    return chunks, sentences


class CountingEmbeddings(FakeEmbeddings):
    texts: int = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += len(texts)
        return super().embed_documents(texts)


def env_for(settings: Settings) -> dict[str, str]:
    return {
        "KILDE_CHROMA_URL": str(settings.chroma.url),
        "KILDE_COLLECTION": settings.collection,
        "KILDE_CORPUS_DIR": str(settings.corpus_dir),
        "KILDE_EMBEDDER": "fake",
    }


def test_ingest_ask_and_chat_against_the_server(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key, value in env_for(server_settings).items():
        monkeypatch.setenv(key, value)
    runner = CliRunner()
    data = str(server_settings.data_dir)
    result = runner.invoke(cli, ["--data-dir", data, "ingest"])
    assert result.exit_code == 0, result.output
    assert "5 added" in result.stderr
    assert not (server_settings.data_dir / "chroma").exists()  # nothing went to an embedded store

    index = open_index(server_settings, FakeEmbeddings())
    chunks, _ = expected_ids(server_settings.corpus_dir)
    assert set(index.ids_by_doc(index.chunks).keys()) == {p.stem for p in CORPUS.glob("*.md")}
    assert index.count() == len(chunks)

    result = runner.invoke(cli, ["--data-dir", data, "ask", "--json", "Hvem er næstformand i HK Kommunal?"])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    # fake vectors pick no fact; what is checked is that the answer quotes the chunks the server holds
    assert not answer["refused"] and answer["citations"]
    for cited in answer["citations"]:
        assert cited["quote"] in index.chunks_by_id([cited["chunk_id"]])[cited["chunk_id"]][0]

    # The chat in a process of its own (bot.terminal.chat binds sys.stdin when first imported).
    chat = subprocess.run(
        [sys.executable, "-m", "bot", "--data-dir", data, "chat"],
        input="Hvem er Troels Lund Poulsen?\n",
        capture_output=True,
        text=True,
        cwd=PROJECT_ROOT,
        env={**os.environ, "ANONYMIZED_TELEMETRY": "False"},
        timeout=120,
        check=False,
    )
    assert chat.returncode == 0, chat.stderr
    assert "[1]" in chat.stdout  # answered, with a citation, from the server's index
    assert "indexing" not in chat.stderr  # it used the index on the server as it was


def test_reingest_embeds_nothing_and_a_switch_of_store_reuses_the_cache(
    server_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    counter = CountingEmbeddings()
    monkeypatch.setitem(embeddings_module.EMBEDDERS, "fake", lambda _threads, _server: counter)
    embedded = server_settings.replace(chroma_url=None)
    embedded.data_dir.mkdir()

    # Embedded first, with the on-disk cache the command line uses.
    ingest(embedded, [embedded.corpus_dir], build_embeddings(embedded))
    first = counter.texts
    assert first > 0
    # The same data directory against the server: every vector comes from the cache.
    report = ingest(server_settings, [server_settings.corpus_dir], build_embeddings(server_settings))
    assert len(report.added) == 5 and report.chunks_added > 0
    assert counter.texts == first
    # Again: nothing to do at all.
    plain = CountingEmbeddings()
    report = ingest(server_settings, [server_settings.corpus_dir], plain)
    assert plain.texts == 0
    assert len(report.skipped) == 5 and not report.changed

    # One edited article: only its chunks are touched.
    path = server_settings.corpus_dir / "velfaerdskommuner-hk-kommunal.md"
    path.write_text(path.read_text() + "\nEt nyt afsnit om noget helt nyt.\n")
    report = ingest(server_settings, [server_settings.corpus_dir], plain)
    assert report.updated == ["velfaerdskommuner-hk-kommunal"] and len(report.skipped) == 4
    assert 0 < plain.texts < 30
    index = open_index(server_settings, FakeEmbeddings())
    chunks, sentences = expected_ids(server_settings.corpus_dir)
    assert set(index.chunks.get(include=[])["ids"]) == chunks
    assert set(index.sentences.get(include=[])["ids"]) == sentences


def test_two_processes_ingesting_at_once(server_settings: Settings, tmp_path: Path) -> None:
    env = {**os.environ, **env_for(server_settings), "ANONYMIZED_TELEMETRY": "False"}
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "--data-dir", str(tmp_path / name), "ingest"],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for name in ("d1", "d2")
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        assert "Traceback" not in err

    index = open_index(server_settings, FakeEmbeddings())
    chunks, sentences = expected_ids(server_settings.corpus_dir)
    got_chunks = index.chunks.get(include=[])["ids"]
    got_sentences = index.sentences.get(include=[])["ids"]
    assert sorted(got_chunks) == sorted(chunks)  # each chunk exactly once
    assert sorted(got_sentences) == sorted(sentences)
    # And the index is whole: a third run finds nothing to embed.
    plain = CountingEmbeddings()
    report = ingest(server_settings, [server_settings.corpus_dir], plain)
    assert plain.texts == 0 and not report.changed


@pytest.mark.parametrize("command", [["ingest"], ["ask", "Hvem er næstformand i HK Kommunal?"]])
def test_an_unreachable_server_is_one_line(
    tmp_path: Path, corpus_copy: Path, monkeypatch: pytest.MonkeyPatch, command: list[str]
) -> None:
    monkeypatch.setenv("KILDE_CHROMA_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("KILDE_CHROMA_TOKEN", "s3cret-t0ken-value")
    monkeypatch.setenv("KILDE_EMBEDDER", "fake")
    monkeypatch.setenv("KILDE_CORPUS_DIR", str(corpus_copy))
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path / "data"), *command])
    assert result.exit_code == 1
    errors = [line for line in result.stderr.splitlines() if "error" in line]
    assert len(errors) == 1
    assert errors[0].startswith("kilde: error: cannot reach the Chroma server at http://127.0.0.1:")
    assert "Traceback" not in result.output
    assert "s3cret" not in result.output


@pytest.mark.parametrize("url", ["http://127.0.0.1:notaport", "ftp://host:21", "http://user:s3cret@:80"])
def test_a_malformed_url_is_one_line(tmp_path: Path, url: str) -> None:
    # Checked when the settings are read (issue 20), before anything tries to connect.
    from pydantic import ValidationError

    from retrieval.settings import describe_error

    with pytest.raises(ValidationError) as caught:
        Settings(data_dir=tmp_path, embedder="fake", chroma_url=url)
    line = describe_error(caught.value)
    assert line.startswith("bad setting: KILDE_CHROMA_URL: ") and "\n" not in line
    assert "s3cret" not in line


def test_rebuild_on_a_server_deletes_and_rebuilds_the_collections(server_settings: Settings) -> None:
    runner = CliRunner()
    env = env_for(server_settings)
    args = ["--data-dir", str(server_settings.data_dir), "ingest"]
    assert runner.invoke(cli, args, env=env).exit_code == 0
    index = open_index(server_settings, FakeEmbeddings())
    index.chunks.add_texts(["spøgelse"], [{"doc_id": "ghost", "kind": "body"}], ids=["ghost-1"])

    rebuilt = runner.invoke(cli, [*args, "--rebuild"], env=env)
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "5 added" in rebuilt.stderr
    index = open_index(server_settings, FakeEmbeddings())
    chunks, sentences = expected_ids(server_settings.corpus_dir)
    assert set(index.chunks.get(include=[])["ids"]) == chunks
    assert set(index.sentences.get(include=[])["ids"]) == sentences


ARTICLES = {
    "havn": ("da", "Kommunen vil bygge en ny havn ved fjorden. Byrådet har afsat 40 mio. kr. til arbejdet."),
    "skole": ("da", "Skolen får nye lokaler til efteråret. Eleverne glæder sig, siger skolelederen."),
    "bridge": ("en", "The council will build a new bridge over the river. It has set aside £4m for the work."),
    "library": ("en", "The library opens new rooms in the autumn. Readers are pleased, said the head librarian."),
}


def test_a_server_index_ranks_across_languages_as_the_local_copy_does(chroma_url: str, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    for name, (_, body) in ARTICLES.items():
        (corpus / f"{name}.md").write_text(f"---\ntitle: {name}\n---\n\n{body} {body}\n", encoding="utf-8")
    local = Settings(data_dir=tmp_path / "local", corpus_dir=corpus, embedder="fake")
    server = Settings(
        data_dir=tmp_path / "server", corpus_dir=corpus, embedder="fake", chroma_url=chroma_url,
        collection=f"t{uuid.uuid4().hex[:12]}",
    )
    for settings in (local, server):
        ingest(settings, [corpus], build_embeddings(settings))
    copy = SnapshotIndex.load(local.data_dir, local.collection, local.embedder_id)
    assert copy is not None and copy.language_shift.languages == ("da", "en")
    index = open_index(server, FakeEmbeddings())
    assert {m.get("language") for m in index.all_chunks()[2]} == {"da", "en"}
    chunk_shift, sentence_shift = index.language_shifts()
    assert np.allclose(chunk_shift.shifts, copy.language_shift.shifts)
    assert np.allclose(sentence_shift.shifts, copy.sentence_shift.shifts)
    embedder = FakeEmbeddings()
    moved = 0
    for question in ("Hvad koster havnen?", "Who is pleased with the library?", "Hvornår får skolen lokaler?"):
        vector = embedder.embed_query(question)
        here, there = copy.dense_chunks(vector, 4), index.dense_chunks(vector, 4)
        assert [row[0] for row in there] == [row[0] for row in here]
        assert np.allclose([row[3] for row in there], [row[3] for row in here], atol=1e-5)
        unmoved = [row[0] for row in sorted(there, key=lambda row: -row[3])]
        moved += unmoved != [row[0] for row in there]
    assert moved  # the shifts changed some ranking: the comparison above is not of two unmoved lists
    docs = list(ARTICLES)
    here_parts, there_parts = copy.doc_parts(docs)[1], index.doc_parts(docs)[1]
    by_id = dict(zip(there_parts["ids"], there_parts["embeddings"], strict=True))
    assert np.allclose(np.stack([by_id[i] for i in here_parts["ids"]]), here_parts["embeddings"], atol=1e-5)
