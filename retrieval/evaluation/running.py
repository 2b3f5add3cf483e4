"""Running test prompts through an answer service, exactly like a chat.

`evaluate` runs the cases through any `EvalService` (the real service or the baseline): earlier questions of a
case are asked first and their answers passed on as history; each answer is then scored by `check_case`.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol

from retrieval.conversation import Conversation
from retrieval.errors import KildeError, UsageError
from retrieval.evaluation.cases import Case
from retrieval.evaluation.metrics import DEFAULT_K, CaseResult, CaseRun, Evaluation, check_case
from retrieval.types import Answer, DocumentInfo, Turn


class EvalService(Protocol):
    """What evaluation needs: answers, the known documents, and the full text of a cited chunk."""

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer: ...

    def documents(self) -> list[DocumentInfo]: ...

    def chunk_text(self, chunk_id: str) -> str | None: ...


def run_case(service: EvalService, case: Case) -> CaseRun:
    """Ask the history questions, then the case question, in one chat; time the case question only."""
    chat = Conversation(service, max_turns=None)  # the service trims; the report shows the whole chat
    try:
        for question in case.history:
            chat.ask(question)
        history = tuple(chat.turns)
        started = time.perf_counter()
        answer = chat.ask(case.question)
        latency = (time.perf_counter() - started) * 1000
    except KildeError as exc:
        return CaseRun(case, "", False, (), (), 0.0, tuple(chat.turns), error=str(exc) or type(exc).__name__)
    return CaseRun(
        case=case,
        answer=answer.text,
        refused=answer.refused,
        citations=tuple(answer.citations),
        retrieved=tuple(answer.retrieved),
        latency_ms=latency,
        history=history,
        language=answer.language,
    )


def evaluate(
    service: EvalService,
    cases: Sequence[Case],
    k: int = DEFAULT_K,
    on_progress: Callable[[int, int], None] | None = None,
    name: str = "kilde",
) -> Evaluation:
    """Run every case through `service` (in order) and check the answers."""
    if k < 1:
        raise UsageError("k must be at least 1")
    texts: dict[str, str | None] = {}

    def chunk_text(chunk_id: str) -> str | None:
        if chunk_id not in texts:
            texts[chunk_id] = service.chunk_text(chunk_id)
        return texts[chunk_id]

    results = []
    for done, case in enumerate(cases, start=1):
        run = run_case(service, case)
        results.append(CaseResult(run, check_case(run, k, chunk_text)))
        if on_progress is not None:
            on_progress(done, len(cases))
    return Evaluation(results, k, name)
