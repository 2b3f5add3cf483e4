"""The history rules of a chat, in one place: which turns count as context, and how many are kept."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from retrieval.types import Answer, AnswerService, Turn


def turn_of(answer: Answer) -> Turn:
    """The turn a chat keeps: a refusal is kept without its text, so it is never used as context."""
    return Turn(answer.question, "" if answer.refused else answer.text)


def trim(turns: Sequence[Turn], max_turns: int) -> list[Turn]:
    """The last `max_turns` turns (none when it is 0)."""
    return list(turns)[-max_turns:] if max_turns > 0 else []


class Conversation:
    """One chat with the service: asks with the turns so far and keeps the last `max_turns` of them.

    `max_turns=None` keeps every turn and leaves trimming to the service (evaluation reports the whole chat).
    """

    def __init__(self, service: AnswerService, max_turns: int | None, turns: Sequence[Turn] = ()) -> None:
        self.service = service
        self.max_turns = max_turns
        self.turns = self._trim(turns)

    def ask(self, question: str, on_token: Callable[[str], None] | None = None) -> Answer:
        if on_token is None:  # services that do not stream need not take `on_token`
            answer = self.service.answer(question, list(self.turns))
        else:
            answer = self.service.answer(question, list(self.turns), on_token=on_token)
        self.turns = self._trim([*self.turns, turn_of(answer)])
        return answer

    def reset(self) -> None:
        self.turns = []

    def _trim(self, turns: Sequence[Turn]) -> list[Turn]:
        return list(turns) if self.max_turns is None else trim(turns, self.max_turns)
