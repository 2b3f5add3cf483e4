"""Issue 11 item 3: text from articles, users and models reaches a terminal (or Telegram) without escape
sequences, control characters or bidi controls, in every front end."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from rich.console import Console

import bot.cli.main
from bot.cli.main import cli
from bot.safe_text import safe_text
from bot.telegram.render import answer_html, answer_plain, sources_html, start_html
from bot.terminal.chat import run_chat
from retrieval.types import Answer, Citation, DocumentInfo, Turn

OSC = "\x1b]0;pwned\x07"  # sets the terminal's title
CSI = "\x1b[2J\x1b[31m"  # clears the screen, turns text red
C1 = "\x9b31m"  # the one-byte CSI some terminals obey
BIDI = "\u202e"  # right-to-left override
EVIL = OSC + CSI + C1 + BIDI + "\x07\x08"
FORBIDDEN = ["\x1b", "\x9b", "\x9d", "\u202e", "\x07", "\x08", "pwned", "31m"]


def assert_clean(output: str) -> None:
    for bad in FORBIDDEN:
        assert bad not in output, f"{bad!r} reached the output: {output!r}"


def evil_answer(question: str = "Hvem?") -> Answer:
    cite = Citation(
        1,
        f"doc{EVIL}",
        f"chunk{EVIL}",
        f"Titel{EVIL}\n[2] Falsk kilde",
        f"2020{EVIL}",
        f"https://example.org/{EVIL}",
        f"Citat{EVIL} fra artiklen.",
    )
    return Answer(question, f"Svaret er{EVIL} her [1].", False, "da", citations=[cite])


class EvilService:
    def __init__(self) -> None:
        self.tokens = ["Svaret ", f"er{OSC}", f" her{CSI}{BIDI} [1]."]

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer:
        for token in self.tokens if on_token else []:
            on_token(token)  # type: ignore[misc]
        return evil_answer(question)

    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo(f"d{EVIL}", f"Artikel{EVIL}", None, None)]


def test_safe_text_removes_sequences_whole_and_keeps_the_text() -> None:
    assert safe_text(f"a{OSC}b{CSI}c{C1}d{BIDI}e\x00f\x7fg") == "abcdefg"
    assert safe_text("linje 1\r\nlinje 2\rlinje 3\ttab") == "linje 1\nlinje 2\nlinje 3\ttab"
    assert safe_text("Titel\n[2] Falsk", one_line=True) == "Titel [2] Falsk"
    assert safe_text("\x1b]8;;http://evil\x1b\\link\x1b]8;;\x1b\\") == "link"
    assert safe_text("Æbler, øl og å — “citat” 😀") == "Æbler, øl og å — “citat” 😀"


@pytest.fixture
def evil_cli(monkeypatch: pytest.MonkeyPatch) -> EvilService:
    service = EvilService()
    monkeypatch.setattr(bot.cli.main, "_service", lambda settings, *_, **__: service)
    return service


def test_ask_prints_no_escape_sequences_even_when_piped(evil_cli: EvilService, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "ask", "Hvem?"])
    assert result.exit_code == 0, result.output
    assert_clean(result.stdout)
    assert "Svaret er her [1]." in result.stdout
    assert "[1] Titel [2] Falsk kilde" in result.stdout  # a title cannot start a line of its own


def test_ask_json_escapes_what_a_terminal_would_act_on(evil_cli: EvilService, tmp_path: Path) -> None:
    result = CliRunner().invoke(cli, ["--data-dir", str(tmp_path), "ask", "--json", "Hvem?"])
    assert result.exit_code == 0, result.output
    for bad in ("\x1b", "\x9b", "\u202e", "\x07"):
        assert bad not in result.stdout
    assert json.loads(result.stdout)["answer"] == f"Svaret er{EVIL} her [1]."  # the data itself is intact


def test_piped_chat_prints_no_escape_sequences(evil_cli: EvilService, tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path), "chat"], input=f"Hvem?\n/sources\n/bad{OSC}\n"
    )
    assert_clean(result.stdout)
    assert "Svaret er her [1]." in result.stdout and "Citat fra artiklen." in result.stdout


class TerminalStdin(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_interactive_chat_banner_stream_answer_and_sources_are_clean(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100, color_system=None)
    lines = iter(["Hvem?", "/sources", f"/x{OSC}"])

    def fake_input(prompt: str = "", **kwargs: Any) -> str:
        try:
            return next(lines)
        except StopIteration:
            raise EOFError from None

    monkeypatch.setattr(console, "input", fake_input)
    assert run_chat(EvilService(), console, stdin=TerminalStdin()) == 0
    shown = out.getvalue()
    assert "Artikel" in shown and "Svaret er her [1]." in shown and "Citat fra artiklen." in shown
    # The console itself writes cursor moves for the live view; what came from the service must not.
    for bad in ("\x1b]", "\x9b", "\u202e", "\x07", "\x08", "pwned", "31m", "\x1b[2J"):
        assert bad not in shown, bad


def test_ingest_report_lines_do_not_replay_file_names(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "good.md").write_text("---\ntitle: God\n---\nEn god artikel om kommuner og jobcentre.\n")
    (corpus / f"bad{CSI}{BIDI}.md").write_bytes(b"\xff\xfe binary \x00")
    result = CliRunner(env={"KILDE_EMBEDDER": "fake"}).invoke(
        cli, ["--data-dir", str(tmp_path / "d"), "ingest", str(corpus)]
    )
    assert "bad" in result.stderr  # the file is reported ...
    for raw in ("\x1b", "\u202e", "\x07"):  # ... without raw escape sequences (issue 20: as visible escapes,
        assert raw not in result.stderr  # so that the name can be found on disk, see test_output_rule.py)


def test_telegram_text_has_no_control_or_bidi_characters() -> None:
    answer = evil_answer()
    for rendered in (
        answer_html(answer),
        answer_plain(answer),
        sources_html(answer.citations, "da"),
        start_html([DocumentInfo("d", f"Artikel{EVIL}", None, None)], "da"),
    ):
        assert_clean(rendered)
    assert "Titel [2] Falsk kilde" in sources_html(answer.citations, "da")


def test_log_lines_are_made_safe_for_the_terminal() -> None:
    import logging

    from bot.logs import TerminalFormatter

    record = logging.LogRecord(
        "kilde", logging.WARNING, __file__, 1, "skipped %s", (f"bad{CSI}{OSC}.md",), None
    )
    assert TerminalFormatter("%(levelname)s %(message)s").format(record) == "WARNING skipped bad.md"
