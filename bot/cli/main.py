"""The `kilde` command: ingest, ask, chat (and eval, bot). Errors a user can cause are one line, never a traceback."""

from __future__ import annotations

import json
import os
import sys
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
from retrieval.settings import Settings, setting_error_line


def make_settings(data_dir: Path | None) -> Settings:
    try:
        settings = Settings(data_dir=data_dir) if data_dir else Settings()
    except ValidationError as exc:
        raise click.UsageError(f"bad setting: {setting_error_line(exc)}") from None
    except ValueError as exc:
        first = str(exc).splitlines()
        raise click.UsageError(f"bad setting: {' '.join(first[:3])}") from None
    return settings


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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


def _service(settings: Settings, live: bool = False) -> Any:
    """The answer service; `live` for front ends that stay open, so they follow changes to the articles."""
    from retrieval.service import build_service

    indexing.ensure_index(settings)
    if not live:
        return build_service(settings)
    from retrieval.live import build_live_service

    return build_live_service(
        settings, lambda line: err.print(f"kilde: {safe_text(line, one_line=True)}", markup=False)
    )


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

    service = _service(settings, live=True)
    sys.exit(run_chat(service, Console(highlight=False), max_turns=settings.history_turns))


cli.add_command(eval_command)
cli.add_command(add_command)
cli.add_command(bot_command)


def main() -> None:
    cli(prog_name="kilde")
