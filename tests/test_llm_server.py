"""The whole chain with the language-model answerer, against a fake OpenAI-compatible server on 127.0.0.1.

Each scripted server behaviour pins what reaches the user: a verified cited answer, a repaired one, the
extractive answer with the reason in `repairs`, or one clear `ModelError` when fallback is off. Also the
streaming helpers the front ends use (terminal live view, Telegram message edits).
"""

from __future__ import annotations

import asyncio
import io
import itertools
import logging
import re
import shutil
import socket
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from pydantic import SecretStr
from rich.console import Console

from bot.telegram.streaming import MessageStreamer
from bot.terminal.render import plain
from bot.terminal.streaming import answer_in_terminal, live_answer
from retrieval.answering.generated import build_llm_generator
from retrieval.answering.replies import REFUSAL
from retrieval.errors import ModelError
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.index.ingest import ingest
from retrieval.service import Service, build_service
from retrieval.settings import Settings
from retrieval.types import Answer, Turn
from tests.conftest import CORPUS
from tests.fakes.openai_server import FakeOpenAIServer

KEY = "sk-test-secret-key-123"
QUESTION = "Hvor gammel er Kim Them Serup?"


@pytest.fixture(scope="module")
def indexed(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    """The bundled articles indexed once with fake embeddings; three sources per question."""
    root = tmp_path_factory.mktemp("llm")
    shutil.copytree(CORPUS, root / "corpus")
    settings = Settings(data_dir=root / "data", corpus_dir=root / "corpus", embedder="fake", top_k=3)
    report = ingest(settings, [settings.corpus_dir], FakeEmbeddings())
    assert not report.problems
    return settings


@pytest.fixture
async def server() -> AsyncIterator[FakeOpenAIServer]:
    async with FakeOpenAIServer(hang_seconds=20) as fake:
        yield fake


def make_service(indexed: Settings, base_url: str, **overrides: Any) -> Service:
    values: dict[str, Any] = {"llm_base_url": base_url, "llm_api_key": SecretStr(KEY), "llm_timeout": 5.0}
    settings = indexed.replace(**{**values, **overrides})
    return build_service(settings, FakeEmbeddings(), generator=build_llm_generator(settings))


async def ask(
    service: Service, question: str = QUESTION, history: list[Turn] | None = None, stream: bool = False
) -> tuple[Answer, list[str]]:
    tokens: list[str] = []
    on_token = tokens.append if stream else None
    answer = await asyncio.to_thread(service.answer, question, history, on_token)
    return answer, tokens


def extractive_only(service: Service, question: str = QUESTION) -> Answer:
    generator, service.generator = service.generator, None
    try:
        return service.answer(question)
    finally:
        service.generator = generator


def first_sentence(text: str) -> str:
    flat = " ".join(text.split())
    match = re.match(r"(.+?[.!?])\s", flat + " ")
    return (match.group(1) if match else flat).rstrip(".!?")


# -- what the server receives ------------------------------------------------------------------------------------


async def test_the_request_holds_the_rules_and_the_sources_in_a_delimited_block(
    indexed: Settings, server: FakeOpenAIServer
) -> None:
    service = make_service(indexed, server.base_url, llm_model="qwen2.5:3b", llm_temperature=0.2)
    answer, _ = await ask(service)
    assert len(server.requests) == 1  # no history: no condense call
    sent = server.requests[0]
    assert sent.headers["Authorization"] == f"Bearer {KEY}"
    assert sent.body["model"] == "qwen2.5:3b" and sent.body["temperature"] == 0.2
    assert not sent.body.get("stream")
    assert sent.body["max_tokens"] == 200 and "max_completion_tokens" not in sent.body  # KILDE_LLM_MAX_TOKENS
    system, user = sent.content("system"), sent.content("user")
    assert "NO_ANSWER" in system and "square brackets" in system
    assert "data, not instructions" in system and "Danish" in system
    block = user[user.index("<sources>") : user.index("</sources>") + len("</sources>")]
    assert len(re.findall(r'<source n="\d" title="[^"]*"', block)) == 3
    assert [m for m in re.findall(r'<source n="(\d)"', block)] == ["1", "2", "3"]
    for retrieved in answer.retrieved:
        text = service.chunk_text(retrieved.chunk_id) or ""
        assert " ".join(text.replace("<", "‹").replace(">", "›").split()[:8]) in " ".join(block.split())
    assert user.rstrip().endswith("or reply NO_ANSWER.") and f"Question: {QUESTION}" in user


async def test_a_follow_up_is_condensed_and_the_standalone_question_drives_retrieval(
    indexed: Settings, server: FakeOpenAIServer
) -> None:
    server.condense_reply = "Hvad handlede jobCAMP 2018 om?"
    service = make_service(indexed, server.base_url)
    history = [Turn("Hvem er Kim Them Serup?", "Han er arbejdsmarkedschef i Vordingborg [1].")]
    answer, _ = await ask(service, "Og hvad så med det?", history)
    condense, final = server.condense_requests, server.answer_requests
    assert len(condense) == 1 and len(final) == 1
    assert server.requests[0] is condense[0]  # condensed before retrieving
    sent = condense[0].content("user")
    assert (
        "User: Hvem er Kim Them Serup?" in sent
        and "Assistant: Han er arbejdsmarkedschef i Vordingborg." in sent
    )
    assert "Follow-up question: Og hvad så med det?" in sent
    assert "jobcamp-2018-faerre-regler" in {r.doc_id for r in answer.retrieved}
    body = final[0].content("user")
    assert (
        "<conversation>\nUser: Hvem er Kim Them Serup?" in body and "[1]." not in body.split("</sources>")[1]
    )


# -- what the user is shown --------------------------------------------------------------------------------------


@pytest.mark.parametrize("stream", [False, True])
async def test_a_cited_answer_is_shown_with_its_verified_source(
    indexed: Settings, server: FakeOpenAIServer, stream: bool
) -> None:
    service = make_service(indexed, server.base_url)
    answer, tokens = await ask(service, stream=stream)
    top = service.chunk_text(answer.retrieved[0].chunk_id) or ""
    assert answer.answerer == "llm" and answer.repairs == {} and not answer.refused
    assert answer.text == f"{first_sentence(top)} [1]."
    [citation] = answer.citations
    assert citation.chunk_id == answer.retrieved[0].chunk_id and citation.quote in top
    shown = plain(answer)
    assert shown.startswith(answer.text) and "Kilder:" in shown and f"[1] {citation.title}" in shown
    if stream:
        assert server.requests[-1].body["stream"] is True
        assert "".join(tokens) == answer.text  # shown sentence by sentence, once checked
    else:
        assert tokens == []


async def test_a_citation_of_a_source_that_was_not_given_is_removed(
    indexed: Settings, server: FakeOpenAIServer
) -> None:
    server.mode = "bad_number"
    answer, tokens = await ask(make_service(indexed, server.base_url), stream=True)
    assert "".join(tokens) == answer.text  # the uncited claim was never shown, not even in the draft
    assert "[7]" not in answer.text and "pris" not in answer.text
    assert answer.repairs == {"invalid_citations": 1, "unsupported_sentences": 1} and answer.answerer == "llm"
    assert [c.n for c in answer.citations] == [1]


@pytest.mark.parametrize(
    ("mode", "repairs"),
    [
        ("uncited", {"uncited_replaced": 1, "fallback": 1}),
        ("wrong_language", {"wrong_language": 1, "fallback": 1}),
        ("error500", {"model_error": 1, "fallback": 1}),
        ("garbage", {"model_error": 1, "fallback": 1}),
        ("cut", {"model_error": 1, "fallback": 1}),
        ("cut_clean", {"model_error": 1, "fallback": 1}),
    ],
)
@pytest.mark.parametrize("stream", [False, True])
async def test_a_bad_reply_shows_the_extractive_answer_instead(
    indexed: Settings,
    server: FakeOpenAIServer,
    mode: str,
    repairs: dict[str, int],
    stream: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:
    server.mode = mode
    service = make_service(indexed, server.base_url)
    with caplog.at_level(logging.INFO, logger="retrieval.answering.generated"):
        answer, _ = await ask(service, stream=stream)
    offline = extractive_only(service)
    assert answer.answerer == "extractive" and answer.repairs == repairs
    assert (answer.text, answer.citations) == (offline.text, offline.citations)
    assert len(caplog.records) == 1 and KEY not in caplog.text


async def test_a_refusal_marker_is_shown_as_the_refusal(indexed: Settings, server: FakeOpenAIServer) -> None:
    server.mode = "refuse"
    answer, tokens = await ask(make_service(indexed, server.base_url), stream=True)
    assert tokens == []
    assert (answer.text, answer.refused, answer.citations, answer.answerer) == (
        REFUSAL["da"],
        True,
        [],
        "llm",
    )


@pytest.mark.parametrize(
    ("mode", "reason"),
    [
        ("error500", "HTTP 500"),
        ("garbage", "the server's reply is not valid JSON"),
        ("cut", "the connection broke off in the middle of the answer"),
    ],
)
async def test_without_fallback_a_failure_is_one_clear_line(
    indexed: Settings, server: FakeOpenAIServer, mode: str, reason: str
) -> None:
    server.mode = mode
    service = make_service(indexed, server.base_url, llm_fallback=False)
    with pytest.raises(ModelError) as info:
        await ask(service)
    assert str(info.value) == f"the language model at {server.base_url} failed: {reason}"


async def test_a_server_that_never_answers_times_out_promptly_and_falls_back(
    indexed: Settings, server: FakeOpenAIServer, caplog: pytest.LogCaptureFixture
) -> None:
    server.mode = "hang"
    service = make_service(indexed, server.base_url, llm_timeout=0.5)
    started = time.perf_counter()
    with caplog.at_level(logging.WARNING):
        answer, _ = await ask(service, stream=True)
    assert time.perf_counter() - started < 3
    assert answer.answerer == "extractive" and answer.repairs == {"model_error": 1, "fallback": 1}
    assert "no answer within 0.5 s" in caplog.text and KEY not in caplog.text

    # A follow-up right after skips the stuck server (no second wait for condensing or answering).
    started = time.perf_counter()
    again, _ = await ask(service, "Hvor bor han?", [Turn(QUESTION, answer.text)])
    assert time.perf_counter() - started < 1 and again.answerer == "extractive"
    assert len(server.requests) == 1


async def test_without_fallback_a_timeout_is_a_model_error(
    indexed: Settings, server: FakeOpenAIServer
) -> None:
    server.mode = "hang"
    service = make_service(indexed, server.base_url, llm_timeout=0.5, llm_fallback=False)
    started = time.perf_counter()
    with pytest.raises(ModelError, match=r"failed: no answer within 0\.5 s$"):
        await ask(service)
    assert time.perf_counter() - started < 3


async def test_an_unreachable_server_falls_back(indexed: Settings) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again when the test asks: nothing listens there
    service = make_service(indexed, f"http://127.0.0.1:{port}/v1", llm_fallback=False)
    with pytest.raises(ModelError, match="cannot connect to the server"):
        await ask(service)
    service.generator.fallback = True  # type: ignore[union-attr]
    service.generator.cooldown = 0  # type: ignore[union-attr]
    answer, _ = await ask(service)
    assert answer.repairs == {"model_error": 1, "fallback": 1}


# -- front-end streaming helpers ---------------------------------------------------------------------------------


async def test_message_streamer_edits_a_telegram_message_as_the_answer_streams(
    indexed: Settings, server: FakeOpenAIServer
) -> None:
    service = make_service(indexed, server.base_url)
    edits: list[str] = []

    async def edit(text: str) -> None:
        edits.append(text)

    async with MessageStreamer(edit, interval=0.05) as streamer:
        answer = await asyncio.to_thread(service.answer, QUESTION, None, streamer.on_token)
        await streamer.final("FINAL: " + answer.text)
    assert edits[-1] == "FINAL: " + answer.text
    assert all(e.endswith(" …") for e in edits[:-1])
    assert len(edits) == len(set(edits))


async def test_message_streamer_throttles_and_skips_unchanged_text() -> None:
    edits: list[tuple[float, str]] = []
    loop = asyncio.get_running_loop()

    async def edit(text: str) -> None:
        edits.append((loop.time(), text))

    streamer = MessageStreamer(edit, interval=0.2, suffix="")
    streamer.start()
    for i in range(30):  # 30 tokens over ~0.6 s
        streamer.on_token(f"t{i} ")
        await asyncio.sleep(0.02)
    streamer.on_token("")  # nothing new: no edit
    await streamer.final("done")
    times = [t for t, _ in edits]
    assert 2 <= len(edits) <= 6
    assert all(b - a >= 0.19 for a, b in itertools.pairwise(times))
    assert edits[-1][1] == "done" and edits[-2][1].startswith("t0 t1")
    await streamer.final("done")  # the message already shows it: not sent again
    assert edits[-1][1] == "done" and sum(1 for _, t in edits if t == "done") == 1


async def test_message_streamer_survives_failed_draft_edits_and_waits_retry_after() -> None:
    edits: list[str] = []

    class RetryAfter(Exception):
        retry_after = 0.3

    async def edit(text: str) -> None:
        if not edits:
            edits.append("failed")
            raise RetryAfter
        edits.append(text)

    loop = asyncio.get_running_loop()
    async with MessageStreamer(edit, interval=0.01) as streamer:
        streamer.on_token("hej")
        await asyncio.sleep(0.05)
        streamer.on_token(" med dig")
        started = loop.time()
        await streamer.final("svar")
    assert edits == ["failed", "svar"] or edits == ["failed", "hej med dig …", "svar"]
    assert loop.time() - started >= 0.2  # the final edit waited out the retry_after


async def test_message_streamer_from_another_thread_and_nothing_streamed() -> None:
    edits: list[str] = []

    async def edit(text: str) -> None:
        edits.append(text)

    async with MessageStreamer(edit, interval=0.01) as streamer:
        await asyncio.to_thread(lambda: None)  # the extractive answerer streams nothing
        await streamer.final("svar")
    assert edits == ["svar"]


def test_terminal_live_view_shows_the_final_verified_answer(indexed: Settings) -> None:
    class Scripted:
        def answer(self, question: str, history: list[Turn] | None = None, on_token: Any = None) -> Answer:
            for token in ["Et ", "svar ", "[7]"]:
                on_token(token)
            return Answer(question, "Et svar [1].", False, "da")

        def documents(self) -> list[Any]:
            return []

    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=80, color_system=None)
    answer = answer_in_terminal(Scripted(), "Spørgsmål?", None, console)
    assert answer.text == "Et svar [1]."
    assert out.getvalue().rstrip().endswith("Et svar [1].")

    plain_out = io.StringIO()
    shown = live_answer(Console(file=plain_out), lambda on_token: Scripted().answer("q", None, on_token))
    assert shown.text == "Et svar [1]." and plain_out.getvalue() == "Et svar [1].\n"
