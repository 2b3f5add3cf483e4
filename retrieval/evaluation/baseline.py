"""The plain LangChain tutorial pipeline over the same corpus and embedder, as a yardstick for `kilde eval`.

RecursiveCharacterTextSplitter (1000 characters, 200 overlap) -> a fresh in-memory Chroma collection (cosine)
-> similarity search, top 4. It has no answerer: "the answer" is the text of the top two chunks, each cited
with the whole chunk as its quote, and it never refuses. It offers `answer`, `documents` and `chunk_text` like
`retrieval.service.Service`, so `retrieval.evaluation.running` scores both the same way:

    uv run kilde eval tests/prompts --compare-baseline
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Sequence
from typing import cast

from langchain_chroma import Chroma
from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_text_splitters import RecursiveCharacterTextSplitter

from retrieval.errors import KildeError
from retrieval.index.articles import Article, load_articles
from retrieval.index.embeddings import Embedder, make_embeddings
from retrieval.settings import Settings
from retrieval.text import guess_language
from retrieval.types import Answer, Citation, DocumentInfo, Retrieved, Turn

CHUNK_SIZE = 1000
CHUNK_OVERLAP = 200
TOP_K = 4
ANSWER_CHUNKS = 2


def split_articles(articles: Sequence[Article]) -> list[Document]:
    """The tutorial's splitter over each article body; chunk ids are `<doc_id>#<n>`."""
    splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
    chunks: list[Document] = []
    for article in articles:
        for n, text in enumerate(splitter.split_text(article.text)):
            meta = {**article.metadata(), "chunk_id": f"{article.doc_id}#{n}"}
            chunks.append(Document(page_content=text, metadata=meta, id=meta["chunk_id"]))
    return chunks


class TutorialBaseline:
    """Retrieval as in the LangChain RAG tutorial; the top chunks stand in for the answer."""

    name = "baseline"

    def __init__(
        self,
        articles: Sequence[Article],
        embeddings: Embedder,
        k: int = TOP_K,
        answer_chunks: int = ANSWER_CHUNKS,
    ) -> None:
        if not articles:
            raise KildeError("the baseline has no articles to index")
        self.k = k
        self.answer_chunks = answer_chunks
        self._infos = [DocumentInfo(a.doc_id, a.title, a.date, a.url) for a in articles]
        chunks = split_articles(articles)
        self._texts = {str(c.metadata["chunk_id"]): c.page_content for c in chunks}
        self._language = guess_language(" ".join(a.text[:2000] for a in articles[:5]))
        self.store = Chroma(
            collection_name=f"baseline-{uuid.uuid4().hex}",
            embedding_function=cast("Embeddings", embeddings),
            collection_configuration={"hnsw": {"space": "cosine"}},
        )
        self.store.add_documents(chunks, ids=[str(c.metadata["chunk_id"]) for c in chunks])

    @classmethod
    def from_settings(cls, settings: Settings, embeddings: Embedder | None = None) -> TutorialBaseline:
        articles, problems = load_articles([settings.corpus_dir])
        if problems and not articles:
            raise KildeError(f"the baseline cannot read the corpus: {problems[0]}")
        embeddings = embeddings or make_embeddings(settings.embedder, settings.embed_threads)
        return cls(articles, embeddings)

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer:
        """The tutorial ignores the chat history: it searches for the question as asked."""
        started = time.perf_counter()
        hits = self.store.similarity_search_with_score(question, k=self.k)
        retrieved = [
            Retrieved(str(d.metadata["doc_id"]), str(d.metadata["chunk_id"]), 1.0 - float(distance))
            for d, distance in hits
        ]
        used = [d for d, _ in hits[: self.answer_chunks]]
        citations = [
            Citation(
                n=n,
                doc_id=str(d.metadata["doc_id"]),
                chunk_id=str(d.metadata["chunk_id"]),
                title=str(d.metadata.get("title", d.metadata["doc_id"])),
                date=d.metadata.get("date"),
                url=d.metadata.get("url"),
                quote=d.page_content,
            )
            for n, d in enumerate(used, start=1)
        ]
        text = "\n\n".join(f"{d.page_content} [{n}]" for n, d in enumerate(used, start=1))
        total = (time.perf_counter() - started) * 1000
        return Answer(
            question=question,
            text=text,
            refused=False,
            language=self._language,
            citations=citations,
            retrieved=retrieved,
            timings_ms={"retrieve": total, "total": total},
            answerer=self.name,
        )

    def documents(self) -> list[DocumentInfo]:
        return list(self._infos)

    def chunk_text(self, chunk_id: str) -> str | None:
        return self._texts.get(chunk_id)

    def close(self) -> None:
        self.store.delete_collection()
