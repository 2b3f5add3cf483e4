"""Issue 20 item 2: adversarial model replies (tests/fakes/adversarial_replies.yaml) served by the fake OpenAI server
through the real client (`build_llm_generator`), answered plainly and streamed. The issue's targets: at least 0.90 of
the unsupported and subtly wrong replies are dropped, at most 0.05 of the supported ones."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from langchain_core.documents import Document

from retrieval.answering.generated import LLMGenerator, build_llm_generator
from retrieval.settings import Settings
from retrieval.types import Answer
from tests.fakes.openai_server import FakeOpenAIServer

DATA = yaml.safe_load((Path(__file__).parent / "fakes" / "adversarial_replies.yaml").read_text(encoding="utf-8"))
REPLIES: list[dict[str, Any]] = DATA["replies"]
WRONG = {"unsupported", "subtle"}


def docs_for(names: list[str]) -> list[Document]:
    return [
        Document(
            id=f"{name}-0",
            page_content=" ".join(DATA["passages"][name].split()),
            metadata={"doc_id": name, "chunk_id": f"{name}-0", "title": name.title(), "kind": "body", "rank": n},
        )
        for n, name in enumerate(names)
    ]


def extractive(question: str) -> Answer:
    return Answer(question, "Det kan jeg ikke finde i artiklerne.", True, "da")


@pytest.fixture
async def generator(tmp_path: Path) -> AsyncIterator[tuple[LLMGenerator, FakeOpenAIServer]]:
    async with FakeOpenAIServer(mode="scripted") as server:
        settings = Settings(data_dir=tmp_path, llm_base_url=server.base_url, llm_timeout=10)
        yield build_llm_generator(settings), server


def shown(gen: LLMGenerator, server: FakeOpenAIServer, case: dict[str, Any], *, stream: bool) -> tuple[bool, str]:
    """(whether the reply was shown, what a front end showed while it streamed)"""
    server.script.append(case["reply"])
    tokens: list[str] = []
    answer = gen.generate(
        case["question"],
        [],
        docs_for(case["passages"]),
        lambda: extractive(case["question"]),
        tokens.append if stream else None,
    )
    return answer.answerer == "llm" and not answer.refused, "".join(tokens)


async def test_adversarial_replies_are_caught_at_the_issues_rates(
    generator: tuple[LLMGenerator, FakeOpenAIServer],
) -> None:
    import asyncio

    gen, server = generator
    assert len(REPLIES) >= 40 and {c["kind"] for c in REPLIES} == {"supported", "unsupported", "subtle"}
    dropped: list[dict[str, Any]] = []
    for case in REPLIES:
        kept, streamed = await asyncio.to_thread(shown, gen, server, case, stream=False)
        kept_streaming, streamed = await asyncio.to_thread(shown, gen, server, case, stream=True)
        assert kept == kept_streaming  # the stream shows what the final answer holds, no more
        assert bool(streamed) == kept_streaming, case["id"]
        if not kept:
            dropped.append(case)
    missed = [c["id"] for c in REPLIES if (c in dropped) == (c["kind"] == "supported")]
    report = rates(REPLIES, dropped)
    print(f"adversarial replies: {report}; held out: {rates([c for c in REPLIES if c.get('heldout')], dropped)}")
    print(f"judged wrongly: {missed}")
    total = Counter(c["kind"] for c in REPLIES)
    counts = Counter(c["kind"] for c in dropped)
    wrong_dropped = (counts["unsupported"] + counts["subtle"]) / (total["unsupported"] + total["subtle"])
    assert wrong_dropped >= 0.90, f"{report}; judged wrongly: {missed}"
    assert counts["supported"] / total["supported"] <= 0.05, f"{report}; judged wrongly: {missed}"


def rates(cases: list[dict[str, Any]], dropped: list[dict[str, Any]]) -> dict[str, str]:
    total, counts = Counter(c["kind"] for c in cases), Counter(c["kind"] for c in cases if c in dropped)
    return {kind: f"{counts[kind]}/{total[kind]} dropped" for kind in sorted(total)}
