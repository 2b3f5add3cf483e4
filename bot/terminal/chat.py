"""`kilde chat`: an interactive chat in the terminal, or a line-by-line script when stdin is not a terminal."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable
from typing import TextIO

from rich.console import Console
from rich.markup import escape

from bot.safe_text import safe_text
from bot.terminal.render import plain, rich_quotes
from bot.terminal.streaming import live_answer
from retrieval.conversation import Conversation
from retrieval.errors import KildeError
from retrieval.types import Answer, AnswerService

HELP = """Skriv et spørgsmål om artiklerne (dansk eller engelsk). / Ask a question about the articles.
  /new      glem samtalen / forget this conversation
  /sources  vis de citerede passager / show the quoted passages of the last answer
  /reload   læs artiklerne igen nu / re-read the articles now (happens by itself before each question)
  /help     denne hjælp / this help
  /quit     afslut / leave (or Ctrl-D)"""


class ChatSession(Conversation):
    """One conversation and its last answer; the same object serves the terminal and scripts."""

    def __init__(self, service: AnswerService, max_turns: int = 6) -> None:
        super().__init__(service, max_turns)
        self.last: Answer | None = None

    def ask(self, question: str, on_token: Callable[[str], None] | None = None) -> Answer:
        self.last = super().ask(question, on_token)
        return self.last

    def reset(self) -> None:
        super().reset()
        self.last = None


def run_chat(
    service: AnswerService, console: Console, stdin: TextIO | None = None, max_turns: int = 6
) -> int:
    stdin = stdin or sys.stdin  # read at call time: tests and callers may have replaced sys.stdin
    _tolerate_bad_bytes(stdin)
    session = ChatSession(service, max_turns)
    interactive = stdin.isatty() and console.is_terminal
    if interactive:
        import readline  # noqa: F401  (line editing and history for input())

        titles = safe_text(", ".join(d.title for d in service.documents()[:5]), one_line=True)
        console.print(f"[bold]kilde[/bold] — {len(service.documents())} artikler: {escape(titles)}")
        console.print("[dim]/help for hjælp, Ctrl-D for at afslutte[/dim]")
    failures = 0
    while True:
        try:
            line = console.input("[bold cyan]? [/bold cyan]") if interactive else stdin.readline()
        except (EOFError, KeyboardInterrupt):
            break
        if not interactive and line == "":
            break
        question = line.strip()
        if not question:
            continue
        command = question.lower()
        if command in {"/quit", "/exit", "/q"}:
            break
        if command == "/help":
            console.print(HELP, markup=False, highlight=False)
            continue
        if command == "/new":
            session.reset()
            console.print("[dim]Ny samtale. / New conversation.[/dim]")
            continue
        if command == "/sources":
            if session.last is None:
                console.print("Intet svar endnu. / No answer yet.")
            else:
                console.print(rich_quotes(session.last))
            continue
        if command == "/reload":
            reload = getattr(service, "reload", None)  # a live service follows the article files
            try:
                console.print(
                    reload() if reload else "Artiklerne er faste. / The articles are fixed.",
                    markup=False,
                    soft_wrap=True,
                )
            except KildeError as exc:
                console.print(f"[red]fejl/error:[/red] {escape(safe_text(exc, visible=True))}", highlight=False)
            continue
        if command.startswith("/"):
            name = safe_text(question.split()[0], one_line=True)
            console.print(
                f"Ukendt kommando {name!r}; skriv /help. / Unknown command; type /help.",
                markup=False,
                highlight=False,
            )
            continue
        try:
            if interactive:  # shows a language model's answer as it is written; prints the final one
                answer = live_answer(console, functools.partial(session.ask, question))
            else:
                answer = session.ask(question)
        except KildeError as exc:
            failures += 1
            console.print(f"[red]fejl/error:[/red] {escape(safe_text(exc, visible=True))}", highlight=False)
            continue
        if interactive:
            console.print()
        else:
            console.print(plain(answer), markup=False, highlight=False, soft_wrap=True)
            console.print()
    return 1 if failures and not interactive else 0


def _tolerate_bad_bytes(stdin: TextIO) -> None:
    """Let a line that is not UTF-8 through as text with surrogates, which the service turns into one error
    line for that question. A strict decoder would raise in the middle of the loop and lose the lines after."""
    for stream in {id(stdin): stdin, id(sys.stdin): sys.stdin}.values():  # input() reads sys.stdin
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", "") == "strict":
            with contextlib.suppress(ValueError, OSError):  # not a real stream, or already read from
                reconfigure(errors="surrogateescape")
