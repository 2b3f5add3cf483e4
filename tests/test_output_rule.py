"""Issue 20 items 1-2 (and the file names of item 7): one rule for all output, and the support check judges the text
exactly as it is shown. Text from files, users and models is never markup; `kilde eval` writes nothing raw."""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli.main import cli
from bot.safe_text import safe_text
from bot.terminal.render import plain
from retrieval.answering.generated import LLMGenerator
from tests.test_evaluation import FakeService, make_answer, write
from tests.test_generate import generate, model

OSC_TITLE = "\x1b]0;pwned\x07"
RAW = ["\x1b", "\x9b", "\x9d", "\u202e", "\x07"]


def assert_no_raw_controls(output: str) -> None:
    for bad in RAW:
        assert bad not in output, f"{bad!r} reached the output"


def test_a_one_byte_csi_does_not_eat_the_citation_after_it() -> None:
    assert safe_text("medlemmer\x9b [1]") == "medlemmer [1]"
    assert safe_text("medlemmer\x9b[1]") == "medlemmer[1]"
    assert safe_text("rød\x9b31mtekst") == "rødtekst"  # a real one-byte CSI still goes whole


def test_words_hidden_in_an_escape_sequence_cannot_support_a_claim() -> None:
    # The hidden part (an OSC 1 sequence: sets the icon name) repeats the passage, so the raw reply looked
    # supported; what is shown is an invented claim.
    reply = "Kim Them Serup \x1b]1;er 44 år, er gift og har to børn\x07 vandt Nobelprisen i fodbold [1]."
    answer = generate(LLMGenerator(model(reply)))
    assert answer.answerer == "extractive" and answer.repairs.get("unsupported_sentences") == 1
    assert "Nobel" not in plain(answer)


def test_the_answer_text_is_the_checked_text() -> None:
    answer = generate(LLMGenerator(model(f"Kim Them Serup er 44 år{OSC_TITLE} [1].")))
    assert answer.answerer == "llm" and answer.text == "Kim Them Serup er 44 år [1]."


# -- kilde eval ---------------------------------------------------------------------------------------------------

EVIL_CASES = """\
cases:
  - id: "q[/b]1\\u001b]0;pwned\\u0007"
    question: "Hvem [/b] er [red]næstformand\\u202e\\u009b31m i HK Kommunal?"
    expected_sources: [doc-a]
    must_include: [["Pia Lund Jeppesen"]]
"""


@pytest.fixture
def eval_with(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeService], None]:
    import bot.cli.evaluate as cli_eval

    def use(service: FakeService) -> None:
        monkeypatch.setattr(cli_eval, "SERVICE_FACTORY", lambda _settings: service)

    return use


def test_eval_table_shows_markup_and_escapes_as_plain_text(
    tmp_path: Path, eval_with: Callable[[FakeService], None]
) -> None:
    eval_with(FakeService())
    got = CliRunner().invoke(cli, ["eval", str(write(tmp_path, EVIL_CASES))])
    assert got.exit_code == 0, got.output  # no MarkupError
    assert "Failing cases (1)" in got.stdout
    assert "q[/b]1" in got.stdout and "[red]næstformand" in got.stdout  # shown literally
    assert_no_raw_controls(got.output)


def test_eval_json_writes_bidi_and_c1_characters_as_escapes(
    tmp_path: Path, eval_with: Callable[[FakeService], None]
) -> None:
    question = "Hvem er næstformand\u202e\x9b i HK Kommunal?"
    answer = make_answer(question, "Pia\u202e Lund [1]", cites=[("doc-a", "a#0", "Pia Lund Jeppesen\x9b")])
    eval_with(FakeService({question: answer}))
    cases = EVIL_CASES.replace("Hvem [/b] er [red]næstformand\\u202e\\u009b31m", "Hvem er næstformand\\u202e\\u009b")
    got = CliRunner().invoke(cli, ["eval", "--json", str(write(tmp_path, cases))])
    assert got.exit_code == 0, got.output
    assert_no_raw_controls(got.stdout)
    assert "\\u202e" in got.stdout and "\\u009b" in got.stdout
    assert json.loads(got.stdout)["cases"][0]["question"] == question  # the same JSON, only escaped


def test_eval_reports_hold_no_raw_control_characters(
    tmp_path: Path, eval_with: Callable[[FakeService], None]
) -> None:
    eval_with(FakeService())
    html, md = tmp_path / "r.html", tmp_path / "r.md"
    got = CliRunner().invoke(
        cli, ["eval", "--html", str(html), "--markdown", str(md), str(write(tmp_path, EVIL_CASES))]
    )
    assert got.exit_code == 0, got.output
    for report in (html.read_text(encoding="utf-8"), md.read_text(encoding="utf-8")):
        assert_no_raw_controls(report)
        assert "pwned" not in report


def test_a_deeply_nested_prompt_file_is_one_line(tmp_path: Path, eval_with: Callable[[FakeService], None]) -> None:
    eval_with(FakeService())
    deep = write(tmp_path, "cases:\n  - id: x\n    question: " + "[" * 5000 + "]" * 5000 + "\n")
    got = CliRunner().invoke(cli, ["eval", str(deep)])
    assert got.exit_code == 2
    assert got.stderr.strip().count("\n") == 0 and "nested too deeply" in got.stderr
    assert "Traceback" not in got.output and "RecursionError" not in got.output


def test_a_deeply_nested_floors_file_is_one_line(tmp_path: Path, eval_with: Callable[[FakeService], None]) -> None:
    eval_with(FakeService())
    floors = write(tmp_path, "all: " + "[" * 5000 + "]" * 5000 + "\n", "floors.yaml")
    got = CliRunner().invoke(cli, ["eval", "--floors", str(floors), str(write(tmp_path, EVIL_CASES))])
    assert got.exit_code == 2 and got.stderr.strip().count("\n") == 0, got.output
    assert "Traceback" not in got.output


def shown_names(stderr: str) -> list[str]:
    """The file names in `kilde: skipped NAME: reason` lines, with their escapes read back."""
    names = re.findall(r"kilde: skipped (.+?\.md)", stderr)
    return [codecs.decode(name, "unicode_escape") for name in names]


def test_eval_corpus_skipped_lines_name_the_file_as_it_is_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import bot.cli.evaluate as cli_eval

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text("---\ntitle: God\n---\nPia Lund Jeppesen er næstformand i HK Kommunal.\n")
    bad = corpus / "bad\x1b[31m\u202e.md"
    bad.write_bytes(b"\xff\xfe binary \x00")
    monkeypatch.setattr(cli_eval, "SERVICE_FACTORY", lambda _settings: FakeService())
    got = CliRunner(env={"KILDE_EMBEDDER": "fake"}).invoke(
        cli, ["--data-dir", str(tmp_path / "d"), "eval", "--corpus", str(corpus), str(write(tmp_path, EVIL_CASES))]
    )
    assert_no_raw_controls(got.stderr)
    names = shown_names(got.stderr)
    assert names and Path(names[0]).exists() and Path(names[0]).name == bad.name


def test_ingest_names_a_skipped_file_so_that_it_can_be_found(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text("---\ntitle: God\n---\nEn god artikel om kommuner og jobcentre.\n")
    bad = corpus / "bad\x1b]0;x\x07\u202e.md"
    bad.write_bytes(b"\xff\xfe binary \x00")
    got = CliRunner(env={"KILDE_EMBEDDER": "fake"}).invoke(
        cli, ["--data-dir", str(tmp_path / "d"), "ingest", str(corpus)]
    )
    assert_no_raw_controls(got.stderr)
    names = shown_names(got.stderr)
    assert names and Path(names[0]) == bad


def test_chat_error_lines_show_markup_and_escapes_as_text() -> None:
    import io

    from rich.console import Console

    from bot.terminal.chat import run_chat
    from retrieval.errors import KildeError
    from retrieval.types import DocumentInfo

    class Failing:
        def answer(self, question: str, history: object = None, on_token: object = None) -> None:
            raise KildeError("cannot read corpus/[/b]bad\x1b[31m.md")

        def documents(self) -> list[DocumentInfo]:
            return []

        def reload(self) -> str:
            raise KildeError("cannot read corpus/[/b]bad\x1b[31m.md")

    out = io.StringIO()
    code = run_chat(Failing(), Console(file=out, width=100), stdin=io.StringIO("/reload\nHvem?\n"))  # type: ignore[arg-type]
    assert code == 1
    assert out.getvalue().count("corpus/[/b]bad\\x1b[31m.md") == 2  # no MarkupError; the name as it is on disk
    assert_no_raw_controls(out.getvalue())
