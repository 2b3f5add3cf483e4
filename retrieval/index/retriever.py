"""The hybrid search as a LangChain retriever (a Runnable), for callers that compose LangChain runnables."""

from __future__ import annotations

from collections.abc import Callable

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.index.search import HybridSearch


class HybridRetriever(BaseRetriever):
    """`invoke(query)` embeds the query with `embed_query` (the service's cached one); `search(query, vector)` is
    the chain's path, which already has the vector."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    hybrid: HybridSearch
    embed_query: Callable[[str], list[float]]

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None
    ) -> list[Document]:
        return self.search(query, self.embed_query(query))

    def search(self, query: str, vector: list[float], k: int | None = None) -> list[Document]:
        return self.hybrid.search(query, vector, k)
