"""The history rules of a chat, in one place: which turns count as context, how many are kept, and how a
follow-up question borrows from the last one to make a standalone search query."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import get_args

from retrieval.answering.language import content_words
from retrieval.answering.lexicon import HAND_SET, lexicon
from retrieval.answering.question import analyse
from retrieval.text import names_in, words
from retrieval.types import Answer, AnswerService, Language, Turn


@dataclass(frozen=True)
class Query:
    """What to search for: the question, made standalone with the chat history when it needs it."""

    question: str
    text: str
    context_terms: str = ""  # names carried over from the earlier turns ("; " between), for the answerer


def needs_history(question: str) -> bool:
    """A question that points back ("Hvad mener han?", "When did it open?"), or a short one that says nothing of
    its own but names and numbers ("Og i 2019?", "Hvad med Greve?"). A short question with a subject of its own
    ("Hvem betaler for broen?") stands alone."""
    tokens = re.findall(r"[\wæøå]+", question.lower())
    lexicons = [lexicon(language) for language in get_args(Language)]
    if any(t in lex.refers_back for lex in lexicons for t in tokens):
        return True
    named = {w for name in names_in(question) for w in words(name)}
    asked = {w for lex in lexicons for w in lex.question_words}
    own = [w for w in content_words(question) if w not in named and w not in asked and not w.isdigit()]
    return len(tokens) <= HAND_SET["short_follow_up_words"] and not own


def condense(question: str, history: list[Turn] | None) -> Query:
    """A standalone retrieval query, without a language model: a follow-up carries what the last turn asked
    about. A who-question that names nobody asks about the person its answer names first ("Hvem er formand ...?" then
    "Hvad mener han ...?"); any other question's are the names it gives itself, never the organisations its answer
    happens to mention; without names, its whole text."""
    if not history or not needs_history(question):
        return Query(question, question)
    last = history[-1]
    carried = names_in(last.question)
    if analyse(last.question).kind == "person" and not any(len(n.split()) >= HAND_SET["full_name_words"] for n in carried):
        people = [n for n in names_in(last.answer.split("\n\n")[0]) if len(n.split()) >= HAND_SET["full_name_words"]]
        carried = people[:1] or carried
    carried = [n for n in dict.fromkeys(carried) if n.lower() not in question.lower()]
    carried_text = " ".join(carried) if carried else last.question
    # the names kept apart, so that "Troels Lund Poulsen" and the next name never read as one
    return Query(question, f"{question} {carried_text}", "; ".join(carried) if carried else last.question)


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
