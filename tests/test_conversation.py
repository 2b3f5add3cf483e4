"""The history rules of a chat: refusals are kept without text, and only the last turns are kept."""

from __future__ import annotations

from collections.abc import Callable

from retrieval.conversation import Conversation, trim, turn_of
from retrieval.types import Answer, DocumentInfo, Turn


class Recorder:
    """Answers "svar på <question>", refusing questions that end in "?!", and records the history it got."""

    def __init__(self) -> None:
        self.histories: list[list[Turn]] = []
        self.streamed = False

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer:
        self.histories.append(list(history or []))
        if on_token is not None:
            self.streamed = True
            on_token("svar")
        return Answer(question, f"svar på {question}", refused=question.endswith("?!"), language="da")

    def documents(self) -> list[DocumentInfo]:
        return []


def test_a_refusal_is_kept_without_its_text() -> None:
    refused = Answer("hvem?!", "Det står ikke i artiklerne.", refused=True, language="da")
    answered = Answer("hvad?", "Noget [1].", refused=False, language="da")
    assert turn_of(refused) == Turn("hvem?!", "")
    assert turn_of(answered) == Turn("hvad?", "Noget [1].")


def test_trim_keeps_the_last_turns_and_none_for_zero() -> None:
    turns = [Turn(str(n)) for n in range(5)]
    assert trim(turns, 2) == [Turn("3"), Turn("4")]
    assert trim(turns, 9) == turns
    assert trim(turns, 0) == []


def test_each_question_gets_the_turns_before_it() -> None:
    service = Recorder()
    chat = Conversation(service, max_turns=6)
    chat.ask("a")
    chat.ask("b?!")
    answer = chat.ask("c")
    assert answer.text == "svar på c"
    assert service.histories == [[], [Turn("a", "svar på a")], [Turn("a", "svar på a"), Turn("b?!", "")]]
    assert chat.turns == [Turn("a", "svar på a"), Turn("b?!", ""), Turn("c", "svar på c")]


def test_only_the_last_max_turns_are_kept() -> None:
    chat = Conversation(Recorder(), max_turns=2, turns=[Turn("x"), Turn("y"), Turn("z")])
    assert chat.turns == [Turn("y"), Turn("z")]
    chat.ask("a")
    assert chat.turns == [Turn("z"), Turn("a", "svar på a")]
    assert Conversation(Recorder(), max_turns=0, turns=[Turn("x")]).turns == []


def test_without_a_limit_every_turn_is_kept() -> None:
    chat = Conversation(Recorder(), max_turns=None)
    for question in "abcdefgh":
        chat.ask(question)
    assert [t.question for t in chat.turns] == list("abcdefgh")


def test_tokens_are_passed_on_only_when_asked_for() -> None:
    service = Recorder()
    chat = Conversation(service, max_turns=6)
    chat.ask("a")
    assert not service.streamed
    tokens: list[str] = []
    chat.ask("b", tokens.append)
    assert service.streamed and tokens == ["svar"]


def test_reset_forgets_the_turns() -> None:
    chat = Conversation(Recorder(), max_turns=6)
    chat.ask("a")
    chat.reset()
    assert chat.turns == []
