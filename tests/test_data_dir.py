"""Issue 11, item 4: every data-directory failure is one line that says how to recover, and a read-only index answers."""

from __future__ import annotations

import errno
import gc
import os
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import pytest
from chromadb.api.client import Client
from click.testing import CliRunner, Result

from bot.cli.main import cli
from retrieval.index import embeddings as embeddings_module
from retrieval.index import ingest as ingest_module

QUESTION = "Hvem er næstformand i HK Kommunal?"


@pytest.fixture
def indexed(tmp_path: Path, corpus_copy: Path) -> Iterator[tuple[Path, dict[str, str]]]:
    data = tmp_path / "data"
    # Fake vectors carry no meaning; chunks get fake vectors of their own too (as the mean of their sentences'
    # random ones they rank the question's passage out of the top chunks by chance): these tests are about the
    # data directory, not retrieval.
    env = {"KILDE_EMBEDDER": "fake", "KILDE_CORPUS_DIR": str(corpus_copy), "KILDE_CHUNK_VECTORS": "embedded"}
    assert kilde(data, env, "ingest").exit_code == 0
    new_process()
    yield data, env
    for folder, _dirs, files in os.walk(tmp_path):  # undo any chmod, so tmp_path can be cleaned up
        os.chmod(folder, 0o755)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o644)


def kilde(data: Path, env: dict[str, str], *args: str) -> Result:
    return CliRunner().invoke(cli, ["--data-dir", str(data), *args], env=env)


def new_process() -> None:
    """Chroma clients and SQLite connections stay open in the process; a new command line starts without them."""
    Client.clear_system_cache()
    gc.collect()


def one_line(result: Result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.output
    return lines[0]


def make_read_only(data: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """chmod, which binds everyone but root; for root (CI) the checks and SQLite's own refusal are simulated."""
    for folder, _dirs, files in os.walk(data):
        os.chmod(folder, 0o555)
        for name in files:
            os.chmod(os.path.join(folder, name), 0o444)
    if os.geteuid() != 0:
        return
    real_access = os.access
    monkeypatch.setattr(
        os,
        "access",
        lambda p, mode, **kw: (
            False if mode & os.W_OK and Path(p).is_relative_to(data) else real_access(p, mode)
        ),
    )
    real_connect = sqlite3.connect

    def connect(path: object, *args: object, **kwargs: object) -> sqlite3.Connection:
        conn = real_connect(path, *args, **kwargs)  # type: ignore[arg-type]
        if str(path).startswith(str(data)):
            conn.execute("PRAGMA query_only = ON")  # "attempt to write a readonly database" on any write
        return conn

    monkeypatch.setattr(embeddings_module.sqlite3, "connect", connect)


def test_a_read_only_data_dir_still_answers(
    indexed: tuple[Path, dict[str, str]], monkeypatch: pytest.MonkeyPatch, corpus_copy: Path
) -> None:
    data, env = indexed
    make_read_only(data, monkeypatch)
    result = kilde(data, env, "ask", QUESTION)
    assert result.exit_code == 0, result.output
    assert "Kilder" in result.stdout

    article = corpus_copy / "velfaerdskommuner-hk-kommunal.md"
    article.write_text(article.read_text() + "\nEt nyt afsnit.\n")
    stale = kilde(data, env, "ask", QUESTION)
    assert stale.exit_code == 0, stale.output
    assert "read-only; answering from the index as it is" in stale.stderr

    refused = kilde(data, env, "ingest")
    assert refused.exit_code == 1
    assert "read-only" in one_line(refused) and "--data-dir" in refused.stderr


def test_a_garbled_embedding_cache_is_optional_for_questions_and_rebuilt(
    indexed: tuple[Path, dict[str, str]], corpus_copy: Path
) -> None:
    data, env = indexed
    new_process()
    (data / "embeddings.sqlite3").write_bytes(b"not a database" * 100)
    assert kilde(data, env, "ask", QUESTION).exit_code == 0  # questions never need the cache

    article = corpus_copy / "velfaerdskommuner-hk-kommunal.md"
    article.write_text(article.read_text() + "\nEt nyt afsnit.\n")
    broken = kilde(data, env, "ingest")
    assert broken.exit_code == 1
    line = one_line(broken)
    assert "embedding cache" in line and "kilde ingest --rebuild" in line

    rebuilt = kilde(data, env, "ingest", "--rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "moved the old index to" in rebuilt.stderr and "5 added" in rebuilt.stderr
    [aside] = data.glob("broken-*")
    assert (aside / "embeddings.sqlite3").read_bytes().startswith(b"not a database")
    assert (aside / "chroma").is_dir()
    new_process()
    assert kilde(data, env, "ask", QUESTION).exit_code == 0


def test_a_half_truncated_index_says_how_to_recover_and_rebuild_recovers(
    indexed: tuple[Path, dict[str, str]],
) -> None:
    data, env = indexed
    sqlite = data / "chroma" / "chroma.sqlite3"
    os.truncate(sqlite, sqlite.stat().st_size // 2)
    # Questions are answered from the copy ingest saved (`retrieval.index.snapshot`); the next ingest reads Chroma.
    assert kilde(data, env, "ask", QUESTION).exit_code == 0
    broken = kilde(data, env, "ingest")
    assert broken.exit_code == 1
    line = one_line(broken)
    assert "malformed" in line and "kilde ingest --rebuild" in line
    assert "deleted" not in broken.stderr

    rebuilt = kilde(data, env, "ingest", "--rebuild")
    assert rebuilt.exit_code == 0, rebuilt.output
    assert "5 added" in rebuilt.stderr
    assert not list(
        data.glob("broken-*/embeddings.sqlite3")
    )  # a cache that reads is kept: nothing re-embedded
    new_process()
    answered = kilde(data, env, "ask", QUESTION)
    assert answered.exit_code == 0 and "Kilder" in answered.stdout


@pytest.mark.parametrize(
    ("target", "error"),
    [
        ("state", OSError(errno.ENOSPC, "No space left on device")),
        ("cache", sqlite3.OperationalError("database or disk is full")),
    ],
)
def test_a_full_disk_is_one_line(
    indexed: tuple[Path, dict[str, str]],
    corpus_copy: Path,
    monkeypatch: pytest.MonkeyPatch,
    target: str,
    error: Exception,
) -> None:
    data, env = indexed

    def fail(*_: object, **__: object) -> None:
        raise error

    if target == "state":
        monkeypatch.setattr(ingest_module, "write_state", fail)
    else:
        monkeypatch.setattr(embeddings_module.CachedEmbeddings, "_embed_documents", fail)
    (corpus_copy / "new.md").write_text("---\ntitle: Ny\n---\nEn ny artikel om noget helt nyt.")
    result = kilde(data, env, "ingest")
    assert result.exit_code == 1
    line = one_line(result)
    assert "free some space" in line


def test_a_failed_update_before_a_question_still_answers_from_the_index(
    indexed: tuple[Path, dict[str, str]], corpus_copy: Path
) -> None:
    data, env = indexed
    new_process()
    (data / "embeddings.sqlite3").write_bytes(b"not a database" * 100)
    (corpus_copy / "new.md").write_text("---\ntitle: Ny\n---\nEn ny artikel om noget helt nyt.")
    result = kilde(data, env, "ask", QUESTION)
    assert result.exit_code == 0, result.output
    assert "Kilder" in result.stdout
    assert "kilde ingest --rebuild" in result.stderr and "answering from the last complete index" in result.stderr
