"""The `kilde` command: ingest, ask, chat (and eval, bot). Errors a user can cause are one line, never a traceback."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from bot import logs
from bot.edge import err, one_line_errors
from bot.render import plain, progress_bar
from bot.safe_text import json_safe, safe_text
from retrieval.errors import KildeError, StoreError
from retrieval.settings import Settings
from retrieval.store import IngestReport


def make_settings(data_dir: Path | None) -> Settings:
    try:
        settings = Settings(data_dir=data_dir) if data_dir else Settings()
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
    protect_secrets(ctx.obj)


def protect_secrets(settings: Settings) -> None:
    """Mask every configured secret in the log, before anything can log it (HTTP clients log urls at -v)."""
    if settings.llm_api_key.get_secret_value() != "not-needed":
        logs.protect(settings.llm_api_key.get_secret_value())
    for secret in (settings.chroma_token, settings.telegram_webhook_secret):
        logs.protect(secret.get_secret_value() if secret else None)
    if settings.telegram_token:
        logs.protect(settings.telegram_token.get_secret_value().strip(), "<token>")
    logs.protect_url(settings.llm_base_url)
    logs.protect_url(settings.chroma_url)


def run_ingest(settings: Settings, paths: list[Path], description: str = "Embedding") -> IngestReport:
    from retrieval.ingest import ingest
    from retrieval.service import build_embeddings
    from retrieval.store import prepare_data_dir

    prepare_data_dir(settings.data_dir)
    embeddings = build_embeddings(settings)
    bar, update = progress_bar(err, description)
    with bar:
        report = ingest(settings, paths, embeddings, update)
    for problem in report.problems:
        err.print(f"kilde: skipped {safe_text(problem, one_line=True)}", markup=False)
    err.print(f"kilde: index: {safe_text(report.summary(), one_line=True)}", markup=False)
    return report


def ensure_index(settings: Settings) -> None:
    """Index the articles on first use, and again (incrementally) when they changed.

    The articles are those the index was built from (`kilde ingest PATH` chooses them), unless KILDE_CORPUS_DIR is
    set to others on purpose; a new index takes the corpus setting. The default corpus never switches an index to
    other articles, so a question never deletes any by itself.
    """
    from retrieval.corpus import indexed_corpus
    from retrieval.datadir import is_writable
    from retrieval.ingest import is_stale
    from retrieval.store import prepare_data_dir, read_state

    if not settings.chroma_url:
        prepare_data_dir(settings.data_dir)
    corpus = indexed_corpus(settings)
    if corpus.note:
        err.print(f"kilde: {safe_text(corpus.note, one_line=True)}", markup=False)
    if corpus.missing:
        err.print(f"kilde: {safe_text(str(corpus.missing[0]), one_line=True)} is gone; answering from the index as it is", markup=False)
        return
    if not settings.corpus_dir.is_dir() and corpus.paths == [settings.corpus_dir]:
        raise KildeError(f"corpus directory {settings.corpus_dir} does not exist (set KILDE_CORPUS_DIR)")
    if not is_stale(settings, corpus.paths):
        return
    first = not read_state(settings.data_dir).get("corpus_fingerprint")
    shown = safe_text(", ".join(str(p) for p in corpus.paths), one_line=True)
    if not first and not settings.chroma_url and not is_writable(settings.data_dir):
        err.print(
            f"kilde: {shown} changed, but the data directory is read-only; answering from the index as it is",
            markup=False,
        )
        return
    if first:
        err.print(f"kilde: indexing {shown} for the first time …", markup=False)
        run_ingest(settings, corpus.paths)
        return
    err.print(f"kilde: {shown} changed since the last index; updating it …", markup=False)
    try:
        run_ingest(settings, corpus.paths)
    except StoreError as exc:  # a full disk, a damaged cache, a lock held long: the old index still answers
        err.print(f"kilde: {safe_text(str(exc), one_line=True)}; answering from the index as it is", markup=False)


@cli.command()
@click.argument("paths", nargs=-1, type=click.Path(path_type=Path))
@click.option(
    "--rebuild", is_flag=True, help="Move the index (and a damaged embedding cache) aside and build it anew."
)
@click.pass_obj
@one_line_errors
def ingest(settings: Settings, paths: tuple[Path, ...], rebuild: bool) -> None:
    """Index articles: PATHS; else KILDE_CORPUS_DIR if set; else what the index holds (a new one: corpus/).

    Re-running embeds only what changed. The index then holds exactly these articles.
    """
    from retrieval.corpus import indexed_corpus

    targets = list(paths) or indexed_corpus(settings).paths
    missing = [p for p in targets if not p.exists()]
    if missing:
        raise KildeError(f"no such file or directory: {missing[0]}")
    if rebuild:
        from retrieval.recovery import set_aside

        aside = set_aside(settings)
        if aside is not None:
            err.print(
                f"kilde: moved the old index to {aside} (delete it once the new one works)", markup=False
            )
    report = run_ingest(settings, targets)
    if report.problems:
        sys.exit(1)


def _service(settings: Settings, live: bool = False) -> Any:
    """The answer service; `live` for front ends that stay open, so they follow changes to the articles."""
    from retrieval.service import build_service

    ensure_index(settings)
    if not live:
        return build_service(settings)
    from retrieval.live import build_live_service

    return build_live_service(settings, lambda line: err.print(f"kilde: {safe_text(line, one_line=True)}", markup=False))


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
    from bot.terminal import run_chat

    service = _service(settings, live=True)
    sys.exit(run_chat(service, Console(highlight=False), max_turns=settings.history_turns))


def _register_optional() -> None:
    """Commands that live in their own modules."""
    for module, name in (("bot.cli_eval", "eval_command"), ("bot.cli_telegram", "bot_command")):
        try:
            mod = __import__(module, fromlist=[name])
        except ImportError:
            continue
        cli.add_command(getattr(mod, name))


_register_optional()


def main() -> None:
    cli(prog_name="kilde")
