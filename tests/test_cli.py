"""The command line: `kilde ask`, `kilde chat`, `kilde ingest`, and their one-line errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from tests.conftest import CORPUS


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def test_ask_json_shape(runner: CliRunner, real_data_dir: Path) -> None:
    result = runner.invoke(
        cli,
        ["--data-dir", str(real_data_dir), "ask", "--json", "Hvor mange kommuner har fået SATS-puljemidler?"],
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.stdout)
    assert {"question", "answer", "refused", "citations", "retrieved", "timings_ms"} <= set(payload)
    assert set(payload["timings_ms"]) == {"retrieve", "answer", "total"}
    citation = payload["citations"][0]
    assert set(citation) >= {"n", "doc_id", "chunk_id", "title", "date", "url", "quote"}
    assert {"doc_id", "chunk_id", "score"} == set(payload["retrieved"][0])
    assert "88" in payload["answer"]


def test_ask_plain_shows_sources(runner: CliRunner, real_data_dir: Path) -> None:
    result = runner.invoke(
        cli, ["--data-dir", str(real_data_dir), "ask", "Hvem er næstformand i HK Kommunal?"]
    )
    assert result.exit_code == 0
    assert "Pia Lund Jeppesen" in result.stdout
    assert "Kilder:" in result.stdout and "[1]" in result.stdout


@pytest.mark.parametrize(
    ("question", "message"),
    [("", "empty"), ("   \t ", "empty"), ("\x00\x07\x1b", "empty"), ("x" * 100_000, "100,000 characters")],
)
def test_bad_questions_are_one_line_errors(
    runner: CliRunner, tmp_path: Path, question: str, message: str
) -> None:
    result = runner.invoke(cli, ["--data-dir", str(tmp_path / "d"), "ask", question])
    assert result.exit_code == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_control_characters_are_stripped(runner: CliRunner, real_data_dir: Path) -> None:
    result = runner.invoke(
        cli,
        ["--data-dir", str(real_data_dir), "ask", "--json", "Hvem er\x1b[31m næstformand\x00 i HK Kommunal?"],
    )
    assert result.exit_code == 0
    assert json.loads(result.stdout)["question"] == "Hvem er[31m næstformand i HK Kommunal?"


def test_chat_reads_lines_when_not_a_terminal(runner: CliRunner, real_data_dir: Path) -> None:
    script = (
        "Hvem er Troels Lund Poulsen?\nHvad sagde han om benchmarking?\n/sources\n/new\n\n"
        + "x" * 5000
        + "\n/help\n"
    )
    result = runner.invoke(cli, ["--data-dir", str(real_data_dir), "chat"], input=script)
    assert any(fact in result.stdout for fact in ("transparens", "udstille", "administration", "førtidspension"))
    assert "/sources" in result.stdout  # the help text
    assert "5,000 characters" in result.stdout  # the long question got a message and the chat went on
    assert result.exit_code == 1  # one question failed


def test_data_dir_whose_parent_is_missing(runner: CliRunner, tmp_path: Path) -> None:
    result = runner.invoke(cli, ["--data-dir", str(tmp_path / "a" / "b" / "c"), "ask", "Hvem?"])
    assert result.exit_code == 1
    assert "does not exist" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_corrupt_index_is_reported_not_overwritten(runner: CliRunner, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "chroma").mkdir(parents=True)
    junk = b"garbage" * 50
    (data / "chroma" / "chroma.sqlite3").write_bytes(junk)
    result = runner.invoke(cli, ["--data-dir", str(data), "ask", "Hvem?"], env={"KILDE_EMBEDDER": "fake"})
    assert result.exit_code == 1
    assert "corrupt" in result.stderr
    assert (data / "chroma" / "chroma.sqlite3").read_bytes() == junk


def test_ingest_reports_bad_files_and_exits_non_zero(runner: CliRunner, tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "ok.md").write_text((CORPUS / "velfaerdskommuner-hk-kommunal.md").read_text())
    (corpus / "bad.md").write_bytes(b"\xe6\xf8\xe5 latin-1")
    result = runner.invoke(
        cli, ["--data-dir", str(tmp_path / "data"), "ingest", str(corpus)], env={"KILDE_EMBEDDER": "fake"}
    )
    assert result.exit_code == 1
    assert "bad.md: not UTF-8" in result.stderr
    assert "1 added" in result.stderr


def test_chat_indexes_on_first_use_and_again_when_the_corpus_changes(
    runner: CliRunner, tmp_path: Path, corpus_copy: Path
) -> None:
    env = {"KILDE_EMBEDDER": "fake", "KILDE_CORPUS_DIR": str(corpus_copy)}
    args = ["--data-dir", str(tmp_path / "data"), "chat"]
    first = runner.invoke(cli, args, input="/quit\n", env=env)
    assert first.exit_code == 0
    assert "for the first time" in first.stderr and "5 added" in first.stderr
    unchanged = runner.invoke(cli, args, input="/quit\n", env=env)
    assert unchanged.stderr == ""
    article = corpus_copy / "velfaerdskommuner-hk-kommunal.md"
    article.write_text(article.read_text() + "\nEt nyt afsnit.\n")
    changed = runner.invoke(cli, args, input="/quit\n", env=env)
    assert "changed since the last index" in changed.stderr
    assert "1 updated" in changed.stderr and "4 unchanged" in changed.stderr
