"""Hybrid retrieval: dense (Chroma or its saved copy) and BM25 rankings fused by reciprocal rank fusion."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol, runtime_checkable

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from retrieval.index.lexical import LexicalIndex, rrf


@runtime_checkable
class ReadIndex(Protocol):
    """What answering reads from the index: Chroma itself (`store.Index`) or its copy (`snapshot.SnapshotIndex`)."""

    def fingerprint(self) -> str: ...

    def sample_text(self, n: int = 50) -> str: ...

    def all_chunks(self) -> tuple[list[str], list[str], list[dict[str, Any]]]: ...

    def dense_chunks(self, vector: list[float], k: int) -> list[tuple[str, str, dict[str, Any], float]]: ...

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]: ...

    def document_metadatas(self) -> list[dict[str, Any]]: ...

    def doc_parts(self, doc_ids: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]: ...


class HybridRetriever(BaseRetriever):
    """Dense and BM25 chunk rankings, fused. Each Document's metadata holds its scores and rank.

    `invoke(query)` embeds the query with `embed_query` (the service's cached one); `search(query, vector)` is
    the chain's path, which already has the vector.
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: ReadIndex
    lexical: LexicalIndex
    embed_query: Callable[[str], list[float]]
    k: int = 6
    depth: int = 30

    def _get_relevant_documents(
        self, query: str, *, run_manager: CallbackManagerForRetrieverRun | None = None
    ) -> list[Document]:
        return self.search(query, self.embed_query(query))

    def search(self, query: str, vector: list[float], k: int | None = None) -> list[Document]:
        k = k or self.k
        dense = self.index.dense_chunks(vector, self.depth)
        lexical = self.lexical.search(query, self.depth)
        by_id: dict[str, tuple[str, dict[str, Any]]] = {cid: (text, meta) for cid, text, meta, _ in dense}
        dense_score = {cid: score for cid, _, _, score in dense}
        lexical_score = dict(lexical)
        fused = rrf([[cid for cid, *_ in dense], [cid for cid, _ in lexical]])
        missing = [cid for cid, _ in fused[:k] if cid not in by_id]
        if missing:
            by_id.update(self.index.chunks_by_id(missing))
        docs = []
        for rank, (cid, score) in enumerate(fused[:k]):
            if cid not in by_id:
                continue  # deleted between the two searches
            text, meta = by_id[cid]
            docs.append(
                Document(
                    id=cid,
                    page_content=text,
                    metadata={
                        **meta,
                        "chunk_id": cid,
                        "rank": rank,
                        "score": score,
                        "dense": dense_score.get(cid),
                        "bm25": lexical_score.get(cid),
                    },
                )
            )
        return docs
