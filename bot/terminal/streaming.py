"""Showing an answer while a language model writes it: live in the terminal, by message edits in Telegram.

The streamed text is only a draft. The final, verified `Answer` (invalid citations removed, or replaced by the
extractive answer) always replaces it, so both helpers end by showing the final text.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from rich.console import Console, RenderableType
from rich.live import Live
from rich.spinner import Spinner
from rich.text import Text

from bot.safe_text import safe_text
from bot.terminal.render import rich_answer
from retrieval.types import Answer, AnswerService, Turn

log = logging.getLogger(__name__)

OnToken = Callable[[str], None]
THINKING = "Tænker … / Thinking …"


# -- terminal ------------------------------------------------------------------------------------------------------


def live_answer(
    console: Console,
    ask: Callable[[OnToken], Answer],
    render: Callable[[Answer], RenderableType] = rich_answer,
    refresh_per_second: float = 12,
) -> Answer:
    """Run `ask(on_token)`, showing the streamed draft live, then print the final answer in its place.

    The draft is transient: when the answer is complete it is erased and `render(answer)` is printed. A
    console that is not a terminal gets only the final answer. Errors from `ask` propagate after the draft
    is cleared.
    """
    if not console.is_terminal:
        answer = ask(lambda _delta: None)
        console.print(render(answer))
        return answer
    draft: list[str] = []
    with Live(
        Spinner("dots", text=Text(THINKING, style="dim")),
        console=console,
        refresh_per_second=refresh_per_second,
        transient=True,
    ) as live:

        def on_token(delta: str) -> None:
            draft.append(delta)
            live.update(Text(safe_text("".join(draft)), style="dim"))

        _LIVE[id(console)] = live
        try:
            answer = ask(on_token)
        finally:
            _LIVE.pop(id(console), None)
    console.print(render(answer))
    return answer


_LIVE: dict[int, Live] = {}  # the live answer shown on each console (by id), while it is shown


def notes_above_answer(console: Console, note: Callable[[str], None]) -> Callable[[str], None]:
    """`note`, except while a live answer is shown on `console`: then the line goes above it, on a line of its own.

    rich's `Live` redirects `sys.stderr`, but a `Console` writing to stderr bypasses that redirect on purpose, so a
    line about the articles ("articles changed; ...") written there in the middle of an answer was glued onto the
    spinner's text.
    """

    def tell(line: str) -> None:
        live = _LIVE.get(id(console))
        if live is None:
            note(line)
        else:
            live.console.print(Text(f"kilde: {safe_text(line, visible=True)}", style="dim"))

    return tell


def answer_in_terminal(
    service: AnswerService,
    question: str,
    history: list[Turn] | None,
    console: Console,
    render: Callable[[Answer], RenderableType] = rich_answer,
) -> Answer:
    """`service.answer(question, history)` with its tokens rendered live, then the final answer printed."""
    return live_answer(console, lambda on_token: service.answer(question, history, on_token=on_token), render)


# -- Telegram ------------------------------------------------------------------------------------------------------




