"""Hybrid retrieval: dense (Chroma or its saved copy) and BM25 rankings fused by reciprocal rank fusion.

Words find only text in the question's language (names and numbers aside). So where the articles are in both
languages, a chunk in the other language that BM25 did not rank keeps its dense rank in the BM25 ranking too: its
absence there says nothing about it, and without this an English article loses a Danish question to Danish chunks
that merely share a word with it.

`HybridSearch` is plain Python: LangChain's `BaseRetriever` is a Runnable, whose module imports LangChain's
tracers (langsmith) at import, a third of a cold `kilde ask`. `retrieval.index.retriever` wraps it as one.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from langchain_core.documents import Document

from retrieval.index.lexical import RRF_K, LexicalIndex, rrf
from retrieval.langid import detect_language


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


@dataclass
class HybridSearch:
    """Dense and BM25 chunk rankings, fused. Each Document's metadata holds its scores and rank."""

    index: ReadIndex
    lexical: LexicalIndex
    k: int = 6
    depth: int = 30

    def search(self, query: str, vector: list[float], k: int | None = None) -> list[Document]:
        k = k or self.k
        dense = self.index.dense_chunks(vector, self.depth)
        lexical = self.lexical.search(query, self.depth)
        by_id: dict[str, tuple[str, dict[str, Any]]] = {cid: (text, meta) for cid, text, meta, _ in dense}
        dense_score = {cid: score for cid, _, _, score in dense}
        lexical_score = dict(lexical)
        scores = dict(rrf([[cid for cid, *_ in dense], [cid for cid, _ in lexical]]))
        asked = detect_language(query)
        # Each article's language as ingest recorded it: in the index copy, or in a server index's chunk metadata.
        known: dict[Any, str] = getattr(self.index, "language_of_doc", {})
        languages = [
            known.get(meta.get("doc_id")) or meta.get("language") or _language(text) for _, text, meta, _ in dense
        ]
        if asked in languages:  # in articles all of the other language, words weigh the same for every chunk
            for rank, (cid, *_) in enumerate(dense):
                if cid not in lexical_score and languages[rank] != asked:
                    scores[cid] += 1.0 / (RRF_K + rank + 1)
        fused = sorted(scores.items(), key=lambda kv: -kv[1])
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


@functools.lru_cache(maxsize=1 << 14)
def _language(chunk_text: str) -> str:
    return detect_language(chunk_text)
