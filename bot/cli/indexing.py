"""Keeping the index in step with the articles, for every command that answers (ask, chat, bot, eval)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.edge import stderr_console
from bot.safe_text import safe_text
from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.indexer import Indexer, IngestReport


def note(line: str) -> None:
    stderr_console().print(f"kilde: {safe_text(line, one_line=True)}", markup=False)


def run_ingest(settings: Settings, paths: list[Path], description: str = "Embedding") -> IngestReport:
    from bot.terminal.render import ingest_bar  # rich's progress bar: only when something is indexed

    bar, update, articles = ingest_bar(stderr_console(), description)
    with bar:
        report = _indexer(settings).ingest(paths, update, articles)
    for problem in report.problems:
        note(f"skipped {problem}")
    note(f"index: {report.summary()}")
    return report


def ensure_index(settings: Settings) -> None:
    """Index the articles on first use, and again when they changed (see `Indexer.ensure`)."""
    _indexer(settings).ensure(note, lambda paths: run_ingest(settings, paths))


def _indexer(settings: Settings) -> Indexer:
    from retrieval.indexer import Indexer  # it imports Chroma: not on the start of every command

    return Indexer(settings)
