"""Issue 20 item 8: a model that repeats its prompt. A refusal counts only when the reply is the refusal; a
condensed question that does not read as one is dropped for the plain question; answers and standalone questions
have a token budget that fits them."""

from __future__ import annotations

import pytest

from prompts import prompt_messages
from retrieval.answering.generated import MAX_QUERY_TOKENS, LLMGenerator, clean_query, is_refusal
from retrieval.answering.replies import REFUSAL
from retrieval.settings import Settings
from retrieval.types import Turn
from tests.fakes.openai_server import FakeOpenAIServer
from tests.test_generate import generate, model
from tests.test_llm_server import QUESTION, ask, indexed, make_service

__all__ = ["indexed"]  # the module-scoped index of the bundled articles, shared with test_llm_server

HISTORY = [Turn("Hvem er Kim Them Serup?", "Kim Them Serup er 44 år og bliver arbejdsmarkedschef i Vordingborg [1].")]
FOLLOW_UP = "Hvor gammel er han?"


def prompt_text(name: str) -> str:
    return "\n".join(template for _, template in prompt_messages(name))


@pytest.mark.parametrize("reply", ["NO_ANSWER", " NO_ANSWER.", '"NO_ANSWER"', "`NO_ANSWER`", "**NO_ANSWER**"])
def test_a_reply_that_is_the_marker_is_a_refusal(reply: str) -> None:
    assert is_refusal(reply)
    answer = generate(LLMGenerator(model(reply)))
    assert answer.refused and answer.answerer == "llm" and answer.text == REFUSAL["da"]


@pytest.mark.parametrize(
    "reply",
    [
        "If the sources do not contain the answer, reply with exactly this one line and nothing else: NO_ANSWER",
        "Kim Them Serup er 44 år [1]. NO_ANSWER",
        "NO_ANSWER\nKim Them Serup er 44 år [1].",
    ],
)
def test_a_reply_that_only_contains_the_marker_is_no_refusal(reply: str) -> None:
    answer = generate(LLMGenerator(model(reply)))
    assert not (answer.refused and answer.answerer == "llm")  # never credited to the model as its refusal
    assert not is_refusal(reply)


def test_an_echoed_answer_prompt_falls_back_to_the_extractive_answer() -> None:
    echo = prompt_text("answer").replace("{refusal}", "NO_ANSWER").replace("{language}", "Danish")
    answer = generate(LLMGenerator(model(echo)))
    assert answer.answerer == "extractive" and not answer.refused
    assert answer.repairs.get("fallback") == 1


@pytest.mark.parametrize(
    "reply",
    [
        prompt_text("condense"),  # the whole prompt repeated
        "You rewrite a follow-up question from a chat into one standalone question that can be understood",
        "Reply with the rewritten question only, on one line, with no quotes and no explanation.",
        "Follow-up question: Hvor gammel er han?",
        "How old is Kim Them Serup?",  # another language than the follow-up
        "Hvor gammel er Kim Them Serup, og hvad mener borgmesteren om beskæftigelsesindsatsen i de fire "
        "kommuner, der har fået frihed fra reglerne, og hvordan går det med forsøget i Rudersdal Kommune?",
        "Hvilken farve har himlen over Sahara om natten?",  # not about the conversation at all
    ],
)
def test_a_condensed_question_that_does_not_read_as_one_is_dropped(reply: str) -> None:
    history = "User: Hvem er Kim Them Serup?\nAssistant: Kim Them Serup er 44 år og bliver arbejdsmarkedschef."
    assert clean_query(reply, FOLLOW_UP, history) is None
    assert LLMGenerator(model(reply)).condense(FOLLOW_UP, HISTORY) is None


def test_a_condensed_question_that_reads_as_a_rewrite_is_used() -> None:
    assert LLMGenerator(model("Hvor gammel er Kim Them Serup?")).condense(FOLLOW_UP, HISTORY) == (
        "Hvor gammel er Kim Them Serup?"
    )
    english = LLMGenerator(model("How old is Kim Them Serup?"))
    assert english.condense("How old is he?", [Turn("Who is Kim Them Serup?", "He is 44 [1].")]) == (
        "How old is Kim Them Serup?"
    )


async def test_a_model_that_echoes_its_prompts_is_never_credited_nor_used_as_a_query(indexed: Settings) -> None:
    async with FakeOpenAIServer(mode="echo") as server:
        service = make_service(indexed, server.base_url)
        answer, _ = await ask(service, FOLLOW_UP, HISTORY)
        assert server.condense_requests and server.answer_requests  # the model was asked both
    assert not (answer.refused and answer.answerer == "llm")
    assert answer.answerer == "extractive" and answer.repairs.get("fallback") == 1


async def test_answers_and_standalone_questions_have_token_budgets(indexed: Settings) -> None:
    async with FakeOpenAIServer() as server:
        service = make_service(indexed, server.base_url, llm_max_tokens=150)
        await ask(service, QUESTION, HISTORY)
    assert [r.body["max_tokens"] for r in server.condense_requests] == [MAX_QUERY_TOKENS]
    assert [r.body["max_tokens"] for r in server.answer_requests] == [150]
    assert Settings().llm.max_tokens <= 256  # the default fits a short cited answer, not a rambling one
