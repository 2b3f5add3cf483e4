"""The `kilde` command: ingest, ask, chat (and eval, bot). Errors a user can cause are one line, never a traceback."""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from bot.cli.edge import one_line_errors, stderr_console
from bot.safe_text import json_safe, safe_text
from retrieval.errors import KildeError

if TYPE_CHECKING:
    from retrieval.settings import Settings

# Commands whose modules load much (`eval`: the evaluation runner; `bot`: Telegram) are imported only when run,
# so `kilde --help` and `kilde ask` do not pay for them; their one-line help is given here for the listing
# (tests/test_cli_startup.py checks it against the command's own).
LAZY_COMMANDS = {
    "add": ("bot.cli.add", "add_command"),
    "bot": ("bot.cli.serve", "bot_command"),
    "eval": ("bot.cli.evaluate", "eval_command"),
}
LAZY_HELP = {  # the first paragraph of each command's help
    "add": "Add articles: web pages by URL, or HTML, PDF, DOCX, Markdown and text files.",
    "bot": "Answer questions in Telegram (long polling, or a webhook when KILDE_TELEGRAM_WEBHOOK_URL is set).",
    "eval": "Score the answers on test prompts: FILE is a prompt file (YAML) or a directory of them.",
}


class LazyGroup(click.Group):
    """A group that imports a command's module when the command is run (or its own help is asked for)."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted([*super().list_commands(ctx), *LAZY_COMMANDS])

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name in LAZY_COMMANDS:
            import importlib

            module, name = LAZY_COMMANDS[cmd_name]
            command: click.Command = getattr(importlib.import_module(module), name)
            return command
        return super().get_command(ctx, cmd_name)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        names = self.list_commands(ctx)
        limit = 500  # the whole first sentence, wrapped: click cuts it at the width of one line
        rows = [
            (
                name,
                click.Command(name, help=LAZY_HELP[name]).get_short_help_str(limit)  # as the command would
                if name in LAZY_HELP
                else self.commands[name].get_short_help_str(limit),
            )
            for name in names
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


def make_settings(data_dir: Path | None) -> Settings:
    from pydantic import ValidationError

    from retrieval.settings import Settings, describe_error  # pydantic: not for `kilde --help`

    try:
        return Settings(data_dir=data_dir) if data_dir else Settings()
    except ValidationError as exc:  # one line naming the bad setting, exit 2
        stderr_console().print(f"kilde: error: {safe_text(describe_error(exc), one_line=True)}", markup=False)
        sys.exit(2)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), help="Index directory (env KILDE_DATA_DIR).")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens to stderr.")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, verbose: bool) -> None:
    """kilde: answers from your articles, with a citation for every claim."""
    from bot import logs
    from retrieval.secrets import protect_settings

    if ctx.invoked_subcommand != "ask":  # see `main`
        gc.enable()
    logs.configure(verbose)
    os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")
    ctx.obj = make_settings(data_dir)
    protect_settings(ctx.obj)  # before anything can log a secret


@cli.command("ingest")
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--rebuild", is_flag=True, help="Move the index (and a damaged embedding cache) aside and build it anew."
)
@click.pass_obj
@one_line_errors
def ingest_command(settings: Settings, paths: tuple[Path, ...], rebuild: bool) -> None:
    """Index articles: PATHS; else KILDE_CORPUS_DIR if set; else what the index holds (a new one: corpus/).

    Re-running embeds only what changed. The index then holds exactly these articles.
    """
    from bot.cli import indexing
    from retrieval.indexer import Indexer

    indexer = Indexer(settings)
    targets = list(paths) or indexer.corpus().paths
    missing = [p for p in targets if not p.exists()]
    if missing:
        raise KildeError(f"no such file or directory: {missing[0]}")
    if rebuild:
        aside = indexer.rebuild()
        if aside is not None:
            stderr_console().print(
                f"kilde: moved the old index to {aside} (delete it once the new one works)", markup=False
            )
    report = indexing.run_ingest(settings, targets)
    if report.problems:
        sys.exit(1)


def _service(settings: Settings, notify: Callable[[str], None] | None = None) -> Any:
    """The answer service; with `notify` (front ends that stay open) one that follows changes to the articles
    and tells them through `notify`."""
    from bot.cli import indexing
    from retrieval.service import build_service

    indexing.ensure_index(settings, once=notify is None)
    if notify is None:
        return build_service(settings)
    from retrieval.live import build_live_service

    return build_live_service(settings, notify)


@cli.command()
@click.argument("question")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@one_line_errors
def ask(settings: Settings, question: str, as_json: bool) -> None:
    """Answer one QUESTION from the articles."""
    from retrieval.service import clean_question

    clean_question(question, settings.max_question_chars)  # fail fast, before loading anything
    answer = _service(settings).answer(question)
    if as_json:
        payload = answer.to_dict()
        click.echo(json_safe(json.dumps(payload, ensure_ascii=False)))
    else:
        from bot.terminal.render import plain

        click.echo(plain(answer))


@cli.command()
@click.pass_obj
@one_line_errors
def chat(settings: Settings) -> None:
    """Chat with the articles in the terminal (reads lines when stdin is not a terminal)."""
    from rich.console import Console

    from bot.cli import indexing
    from bot.terminal.chat import run_chat
    from bot.terminal.streaming import notes_above_answer

    console = Console(highlight=False)
    service = _service(settings, notes_above_answer(console, indexing.note))
    sys.exit(run_chat(service, console, max_turns=settings.history_turns))


def main() -> None:
    # Starting makes many long-lived objects (modules, classes, tables) and hardly any garbage cycles, and the garbage
    # collector walks them again and again: ~40 ms of a cold `kilde ask`. It is off while a command starts; `ask`
    # answers one question and exits with it off (unless it has to index first), the other commands turn it back on.
    gc.disable()
    cli(prog_name="kilde")
