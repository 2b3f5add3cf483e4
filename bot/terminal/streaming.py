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

        answer = ask(on_token)
    console.print(render(answer))
    return answer


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
