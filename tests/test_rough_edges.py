"""Issue 20 item 9 (the terminal's part): a line about the articles never glued onto the spinner, whole command
descriptions in `kilde --help`, and the "index holds the articles in X" line told once, not on every `ask`."""

from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

from click.testing import CliRunner
from rich.console import Console

from bot.cli.main import cli
from bot.terminal.streaming import THINKING, live_answer
from retrieval.types import Answer
from tests.conftest import CORPUS

ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07")
NOTE = "articles changed; index: 1 added, 0 updated, 0 deleted"


def screen_lines(raw: str) -> list[str]:
    """What a terminal shows, roughly: escape sequences gone, each carriage return starting the line again."""
    return [line.rsplit("\r", 1)[-1] for line in ANSI.sub("", raw).split("\n")]


def ask_with_a_note(note: object) -> str:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=120, color_system=None)
    err = Console(file=out, force_terminal=True, width=120, color_system=None)  # stderr: the same terminal

    def tell(line: str) -> None:
        err.print(f"kilde: {line}", markup=False)

    notify = note(console, tell) if callable(note) else tell

    def ask(on_token: object) -> Answer:
        import time

        time.sleep(0.3)  # the spinner is drawn
        notify(NOTE)  # the live service found a changed article while answering
        return Answer("Hvem?", "Svar [1].", False, "da")

    live_answer(console, ask, refresh_per_second=20)
    return out.getvalue()


def test_a_note_written_straight_to_stderr_is_glued_onto_the_spinner() -> None:
    # Why the chat routes its notes: rich's Live does not catch a Console that writes to stderr.
    raw = ask_with_a_note(None)
    assert any(THINKING in line and "kilde: articles changed" in line for line in screen_lines(raw))


def test_a_note_during_an_answer_stands_on_its_own_line() -> None:
    from bot.terminal.streaming import notes_above_answer

    lines = screen_lines(ask_with_a_note(notes_above_answer))
    noted = [line for line in lines if "kilde: articles changed" in line]
    assert noted and all(line.startswith("kilde: articles changed") for line in noted)
    assert not any(THINKING in line and "kilde:" in line for line in lines)


def test_a_note_outside_an_answer_goes_to_the_front_ends_note() -> None:
    from bot.terminal.streaming import notes_above_answer

    told: list[str] = []
    notify = notes_above_answer(Console(file=io.StringIO(), force_terminal=True), told.append)
    notify(NOTE)
    assert told == [NOTE]


def test_help_shows_whole_command_descriptions() -> None:
    result = CliRunner().invoke(cli, ["--help"], terminal_width=80)
    assert result.exit_code == 0
    commands = result.output.split("Commands:")[1]
    assert "..." not in commands
    assert "KILDE_TELEGRAM_WEBHOOK_URL is set)" in " ".join(commands.split())
    assert "reads lines when stdin is not a terminal" in " ".join(commands.split())


def test_the_index_holds_line_is_told_once_not_on_every_ask(tmp_path: Path) -> None:
    articles = tmp_path / "mine"
    shutil.copytree(CORPUS, articles)
    data = str(tmp_path / "data")
    runner = CliRunner(env={"KILDE_EMBEDDER": "fake"})
    assert runner.invoke(cli, ["--data-dir", data, "ingest", str(articles)]).exit_code == 0
    asks = [runner.invoke(cli, ["--data-dir", data, "ask", "Hvem er Kim Them Serup?"]) for _ in range(3)]
    assert all(r.exit_code == 0 for r in asks), asks[0].output
    told = ["the index holds the articles in" in r.stderr for r in asks]
    assert told == [True, False, False]
    chat = runner.invoke(cli, ["--data-dir", data, "chat"], input="")
    assert "the index holds the articles in" in chat.stderr  # a chat says it when it starts
