"""Plain-text and rich rendering of an `Answer` for the terminal."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.safe_text import safe_text
from retrieval.types import Answer

if TYPE_CHECKING:
    # rich is loaded by what draws with it, not by `kilde ask`'s plain text (a tenth of its start).
    from rich.console import Console, Group
    from rich.panel import Panel
    from rich.progress import Progress
    from rich.text import Text


def sources_lines(answer: Answer) -> list[str]:
    lines = []
    for c in answer.citations:
        parts = [c.title]
        if c.date:
            parts.append(c.date)
        if c.page_label(answer.language):
            parts.append(c.page_label(answer.language) or "")
        if c.url:
            parts.append(c.url)
        fields = " · ".join(safe_text(p, one_line=True) for p in parts)
        lines.append(f"[{c.n}] {fields}  ({safe_text(c.doc_id, one_line=True)})")
    return lines


def fallback_notice(answer: Answer) -> str | None:
    """Say so when a configured language model's answer was not used and the answer was taken straight from
    the articles: the model failed, or nothing it wrote could be verified against its sources."""
    if answer.repairs.get("model_error"):
        if answer.language == "da":
            return "(Sprogmodellen svarede ikke; svaret er hentet direkte fra artiklerne.)"
        return "(The language model did not answer; this answer is taken straight from the articles.)"
    if answer.repairs.get("fallback"):
        if answer.language == "da":
            return (
                "(Sprogmodellens svar kunne ikke bekræftes af artiklerne; svaret er hentet direkte fra dem.)"
            )
        return "(The language model's answer could not be verified in the articles; this one is taken straight from them.)"
    return None


def plain(answer: Answer) -> str:
    notice = fallback_notice(answer)
    if notice:
        return f"{notice}\n{_plain(answer)}"
    return _plain(answer)


def _plain(answer: Answer) -> str:
    text = safe_text(answer.text)
    if answer.refused or not answer.citations:
        return text
    heading = "Kilder:" if answer.language == "da" else "Sources:"
    return "\n".join([text, "", heading, *sources_lines(answer)])


def rich_answer(answer: Answer) -> Group:
    from rich.console import Group
    from rich.markup import escape
    from rich.text import Text

    body = Text(safe_text(answer.text), style="italic" if answer.refused else "")
    body.highlight_regex(r"\[\d+\]", "bold cyan")
    items: list[Text | Panel] = [body]
    notice = fallback_notice(answer)
    if notice:
        items.insert(0, Text(notice, style="dim yellow"))
    if answer.citations:
        heading = "Kilder" if answer.language == "da" else "Sources"
        src = Text.from_markup(
            f"[bold]{heading}[/bold]\n" + "\n".join(escape(s) for s in sources_lines(answer))
        )
        items.append(Text(""))
        items.append(src)
    return Group(*items)


def rich_quotes(answer: Answer) -> Group | Text:
    from rich.console import Group
    from rich.markup import escape
    from rich.panel import Panel
    from rich.text import Text

    if not answer.citations:
        return Text(
            "Ingen kilder til det sidste svar."
            if answer.language == "da"
            else "No sources for the last answer."
        )
    return Group(
        *(
            Panel(
                Text(safe_text(c.quote)),
                title=f"[{c.n}] {escape(safe_text(c.title, one_line=True))}",
                subtitle=escape(safe_text(c.chunk_id[:12], one_line=True)),
                expand=True,
            )
            for c in answer.citations
        )
    )


def progress_bar(console: Console, description: str) -> tuple[Progress, Callable[[int, int], None]]:
    """A transient progress bar on `console`: (bar, update(done, total)); off when it is not a terminal."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    bar = Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # no bar (and no stray blank lines) in CI logs
    )
    task = bar.add_task(description, total=None)

    def update(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    return bar, update


def ingest_bar(
    console: Console, description: str
) -> tuple[Progress, Callable[[int, int], None], Callable[[int, int], None]]:
    """The ingest's bar: (bar, texts(done, total), articles(done, total)): texts embedded of those to embed, with
    their rate and the time left, after the articles read so far; off when `console` is not a terminal."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    bar = Progress(
        TextColumn("{task.description} {task.fields[articles]}"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("texts · {task.fields[rate]}"),
        TimeElapsedColumn(),
        TextColumn("· left"),
        TimeRemainingColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,
    )
    task = bar.add_task(description, total=None, articles="", rate="… texts/s")

    def texts(done: int, total: int) -> None:
        speed = bar.tasks[0].speed if bar.tasks else None
        bar.update(task, completed=done, total=total, rate=f"{speed:.1f} texts/s" if speed else "… texts/s")

    def articles(done: int, total: int) -> None:
        bar.update(task, articles=f"({done}/{total} articles read)")

    return bar, texts, articles
