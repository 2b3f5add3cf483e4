"""Keeping the index in step with the articles, for every command that answers (ask, chat, bot, eval)."""

from __future__ import annotations

import contextlib
import gc
from pathlib import Path
from typing import TYPE_CHECKING

from bot.cli.edge import stderr_console
from bot.safe_text import safe_text
from retrieval.settings import Settings

if TYPE_CHECKING:
    from retrieval.indexer import Indexer, IngestReport


def note(line: str) -> None:
    stderr_console().print(f"kilde: {safe_text(line, visible=True)}", markup=False)


def run_ingest(settings: Settings, paths: list[Path], description: str = "Embedding") -> IngestReport:
    from bot.terminal.render import ingest_bar  # rich's progress bar: only when something is indexed

    gc.enable()  # an ingest makes garbage in proportion to the articles (`kilde ask` starts with the collector off)
    bar, update, articles = ingest_bar(stderr_console(), description)
    with bar:
        report = _indexer(settings).ingest(paths, update, articles)
    if report.recovered:
        note(report.recovered)
    for problem in report.problems:
        note(f"skipped {problem}")
    for line in report.unsupported_lines():
        note(line)
    note(f"index: {report.summary()}")
    return report


TOLD_FILE = "told.txt"  # the lines about the index's state that `ask` told last time


def ensure_index(settings: Settings, *, once: bool = False) -> None:
    """Index the articles on first use, and again when they changed (see `Indexer.ensure`).

    With `once` (`kilde ask`, which scripts call again and again) a line about a lasting state of the index
    ("the index holds the articles in X, ...") is told only when it was not told by the command before: it is
    remembered in the data directory, and told again once it has gone away and comes back. Where nothing can be
    remembered (a read-only data directory) it is told every time.
    """
    if not once:
        _indexer(settings).ensure(note, lambda paths: run_ingest(settings, paths))
        return
    told_file = settings.data_dir / TOLD_FILE
    try:
        told = set(told_file.read_text(encoding="utf-8").splitlines())
    except (OSError, UnicodeDecodeError):
        told = set()
    lines: list[str] = []

    def tell(line: str) -> None:
        lines.append(" ".join(line.split()))
        if lines[-1] not in told:
            note(line)

    _indexer(settings).ensure(tell, lambda paths: run_ingest(settings, paths))
    if set(lines) != told:
        with contextlib.suppress(OSError):
            told_file.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")


def _indexer(settings: Settings) -> Indexer:
    from retrieval.indexer import Indexer  # it imports Chroma: not on the start of every command

    return Indexer(settings)
