"""The `kilde` command: ingest, ask, chat (and eval, bot). Errors a user can cause are one line, never a traceback."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from rich.console import Console

from bot import logs
from bot.cli import indexing
from bot.cli.add import add_command
from bot.cli.edge import err, one_line_errors
from bot.cli.evaluate import eval_command
from bot.cli.serve import bot_command
from bot.safe_text import json_safe, safe_text
from bot.terminal.render import plain
from retrieval.errors import KildeError
from retrieval.secrets import protect_settings
from retrieval.settings import Settings, describe_error


def make_settings(data_dir: Path | None) -> Settings:
    """The settings, or one line naming the bad one and exit 2."""
    try:
        return Settings(data_dir=data_dir) if data_dir else Settings()
    except ValidationError as exc:
        err.print(f"kilde: error: {safe_text(describe_error(exc), one_line=True)}", markup=False)
        sys.exit(2)


class _Commands(click.Group):
    """Lists each command with its whole first sentence, wrapped (click cuts it at the width of one line)."""

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        commands = [(name, self.get_command(ctx, name)) for name in self.list_commands(ctx)]
        rows = [(name, cmd.get_short_help_str(limit=500)) for name, cmd in commands if cmd and not cmd.hidden]
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(path_type=Path), help="Index directory (env KILDE_DATA_DIR).")
@click.option("-v", "--verbose", is_flag=True, help="Log what happens to stderr.")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None, verbose: bool) -> None:
    """kilde: answers from your articles, with a citation for every claim."""
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
    from retrieval.indexer import Indexer

    indexer = Indexer(settings)
    targets = list(paths) or indexer.corpus().paths
    missing = [p for p in targets if not p.exists()]
    if missing:
        raise KildeError(f"no such file or directory: {missing[0]}")
    if rebuild:
        aside = indexer.rebuild()
        if aside is not None:
            err.print(
                f"kilde: moved the old index to {aside} (delete it once the new one works)", markup=False
            )
    report = indexing.run_ingest(settings, targets)
    if report.problems:
        sys.exit(1)


def _service(settings: Settings, notify: Callable[[str], None] | None = None) -> Any:
    """The answer service; with `notify` (front ends that stay open) one that follows changes to the articles
    and tells them through `notify`."""
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
        click.echo(plain(answer))


@cli.command()
@click.pass_obj
@one_line_errors
def chat(settings: Settings) -> None:
    """Chat with the articles in the terminal (reads lines when stdin is not a terminal)."""
    from bot.terminal.chat import run_chat
    from bot.terminal.streaming import notes_above_answer

    console = Console(highlight=False)
    service = _service(settings, notes_above_answer(console, indexing.note))
    sys.exit(run_chat(service, console, max_turns=settings.history_turns))


cli.add_command(eval_command)
cli.add_command(add_command)
cli.add_command(bot_command)


def main() -> None:
    cli(prog_name="kilde")
