"""The answer chain as typed LangChain runnables: `Service.chain` and the retriever, each used by `invoke`."""

from __future__ import annotations

import pytest
from langchain_core.runnables import RunnableSequence
from pydantic import Field

from retrieval.conversation import condense
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.index.ingest import ingest
from retrieval.service import AskInput, Service, build_service
from retrieval.settings import Settings
from retrieval.types import Turn

QUESTION = "Hvor gammel er Kim Them Serup?"


class CountingEmbeddings(FakeEmbeddings):
    """Fake vectors, counting the questions embedded."""

    queries: list[str] = Field(default_factory=list)

    def embed_query(self, text: str) -> list[float]:
        self.queries.append(text)
        return super().embed_query(text)


@pytest.fixture
def service(fake_settings: Settings) -> Service:
    assert not ingest(fake_settings, [fake_settings.corpus_dir], FakeEmbeddings()).problems
    return build_service(fake_settings, CountingEmbeddings())


def test_the_chain_is_three_runnables_invoked_with_a_typed_input(service: Service) -> None:
    assert isinstance(service.chain, RunnableSequence) and len(service.chain.steps) == 3
    answer = service.chain.invoke(AskInput(question=QUESTION, history=[], on_token=None))
    same = service.answer(QUESTION)
    assert (answer.text, answer.citations, answer.retrieved) == (same.text, same.citations, same.retrieved)
    assert set(answer.timings_ms) == {"retrieve", "answer"}


def test_a_follow_up_through_the_chain_borrows_the_names_of_the_last_turn(service: Service) -> None:
    history = [Turn("Hvem er Kim Them Serup?", "Kim Them Serup er arbejdsmarkedschef [1].")]
    answer = service.chain.invoke(AskInput(question="Hvor gammel er han?", history=history, on_token=None))
    standalone = condense("Hvor gammel er han?", history).text
    assert "Kim Them Serup" in standalone and answer.retrieved
    # retrieval and the answerer both read the standalone query's vector: "han" alone says nothing of whom
    assert service.embeddings.queries == [standalone]  # type: ignore[attr-defined]


def test_the_retriever_invoke_embeds_through_the_service_cache(service: Service) -> None:
    embedder: CountingEmbeddings = service.embeddings  # type: ignore[assignment]
    found = service.retriever.invoke(QUESTION)
    assert embedder.queries == [QUESTION]
    assert found == service.retriever.search(QUESTION, service.embed_query(QUESTION))
    assert embedder.queries == [QUESTION]  # the second search took the cached vector
    assert len(found) == service.settings.top_k and found[0].metadata["rank"] == 0
