"""The one answer service every front end calls, built from settings by `build_service`."""

from __future__ import annotations

import contextlib
import functools
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypedDict

from langchain_core.documents import Document

from retrieval.answering.learned import ANSWER_DOCS, ANSWERERS, LATENT_TOP_K, Answerer
from retrieval.answering.question import analyse, with_context
from retrieval.conversation import Query, condense, trim
from retrieval.errors import KildeError, UsageError
from retrieval.index.embeddings import Embedder, make_embeddings
from retrieval.index.latent import CachedLatent, make_latent
from retrieval.index.lexical import LexicalIndex, lexical_key
from retrieval.index.search import HybridSearch, ReadIndex
from retrieval.index.snapshot import SnapshotIndex
from retrieval.index.store import Index, IngestReport, Progress, open_client
from retrieval.settings import Settings
from retrieval.types import Answer, DocumentInfo, Generator, Retrieved, Turn

if TYPE_CHECKING:
    # LangChain's runnables import its tracers (langsmith) when they load: a third of a cold `kilde ask`.
    # The chain is built when it is asked for, or when tracing is on (see `tracing_enabled`).
    from langchain_core.runnables import Runnable

    from retrieval.index.retriever import HybridRetriever

_CONTROL = {c: None for c in range(32) if c not in (9, 10)} | {127: None}


def clean_question(question: str, max_chars: int) -> str:
    """Strip control characters and spacing; refuse empty, over-long and undecodable questions with one line."""
    if any("\ud800" <= ch <= "\udfff" for ch in question):  # bytes that were not UTF-8 (surrogateescape)
        raise UsageError("the question is not valid UTF-8 text")
    text = " ".join(question.translate(_CONTROL).split())
    if not text:
        raise UsageError("the question is empty")
    if len(text) > max_chars:
        raise UsageError(f"the question is {len(text):,} characters long; the limit is {max_chars:,}")
    return text


def tracing_enabled() -> bool:
    """Whether LangSmith tracing is switched on in the environment (the variables LangChain itself reads)."""
    names = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING", "LANGCHAIN_TRACING_V2")
    return any(os.environ.get(name, "").strip().lower() == "true" for name in names)


class AskInput(TypedDict):
    question: str
    history: list[Turn]
    on_token: Callable[[str], None] | None


class Condensed(AskInput):
    query: Query  # the question made standalone with the history


class Found(Condensed):
    docs: list[Document]
    vector: list[float]  # of the question itself, for the answerer
    t_retrieve: float


class Service:
    """Retrieval chain plus answerer. Thread-safe: front ends call `answer` from worker threads."""

    def __init__(
        self, settings: Settings, index: ReadIndex, embeddings: Embedder, generator: Generator | None = None
    ) -> None:
        self.settings = settings
        self.generator = generator
        self.index = index
        self.embeddings = embeddings
        key = lexical_key(index.fingerprint())
        self.lexical = self._load_lexical(key)
        self.search = HybridSearch(index=index, lexical=self.lexical, k=settings.top_k)
        self.latent = build_latent(settings)
        self.extractive: Answerer = ANSWERERS[settings.answerer](self.lexical, self.latent, settings.answer_params)
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()

    def _load_lexical(self, fingerprint: str) -> LexicalIndex:
        path = self.settings.data_dir / "bm25" / self.settings.collection
        loaded = LexicalIndex.load(path, fingerprint)
        if loaded is not None:
            return loaded
        ids, texts, _ = self.index.all_chunks()
        built = LexicalIndex.build(ids, texts)
        if not self.settings.chroma.url or self.settings.data_dir.exists():
            with contextlib.suppress(
                OSError
            ):  # a read-only data directory still answers; it rebuilds next time
                built.save(path, fingerprint)
        return built

    def embed_query(self, text: str) -> list[float]:
        with self._lock:
            if text in self._vectors:
                self._vectors.move_to_end(text)
                return self._vectors[text]
        vector = self.embeddings.embed_query(text)
        with self._lock:
            self._vectors[text] = vector
            if len(self._vectors) > 256:
                self._vectors.popitem(last=False)
        return vector

    @functools.cached_property
    def retriever(self) -> HybridRetriever:
        """The hybrid search as a LangChain retriever: `invoke(query)` embeds through the service's cache."""
        from retrieval.index.retriever import HybridRetriever

        return HybridRetriever(hybrid=self.search, embed_query=self.embed_query)

    @functools.cached_property
    def chain(self) -> Runnable[AskInput, Answer]:
        """question + history -> standalone query -> hybrid retrieval -> answer, as LangChain runnables."""
        from langchain_core.runnables import RunnableLambda

        return RunnableLambda(self._condense) | RunnableLambda(self._retrieve) | RunnableLambda(self._answer)

    def _condense(self, inputs: AskInput) -> Condensed:
        query = condense(inputs["question"], inputs["history"])
        if self.generator is not None and inputs["history"]:
            standalone = self.generator.condense(inputs["question"], inputs["history"])
            if standalone:
                query = Query(query.question, standalone, query.context_terms)
        return Condensed(**inputs, query=query)

    def _retrieve(self, inputs: Condensed) -> Found:
        started = time.perf_counter()
        query = inputs["query"]
        vector = self.embed_query(query.text)  # a follow-up's carries the names it refers to
        docs = self.search.search(query.text, vector)
        return Found(**inputs, docs=docs, vector=vector, t_retrieve=time.perf_counter() - started)

    def _answer(self, inputs: Found) -> Answer:
        started = time.perf_counter()
        docs, query = inputs["docs"], inputs["query"]
        question = with_context(analyse(query.question), query.context_terms)
        top_docs = list(dict.fromkeys(str(d.metadata["doc_id"]) for d in docs))[:ANSWER_DOCS]
        parts = self.index.doc_parts(top_docs) if top_docs else ({}, {})

        def extractive() -> Answer:
            return self.extractive.answer(question, docs, parts, inputs["vector"])

        if self.generator is None:
            result = extractive()
        else:
            result = self.generator.generate(query.question, inputs["history"], docs, extractive, inputs["on_token"])
        result.retrieved = [
            Retrieved(str(d.metadata["doc_id"]), str(d.metadata["chunk_id"]), float(d.metadata["score"]))
            for d in docs
        ]
        result.timings_ms = {
            "retrieve": inputs["t_retrieve"] * 1000,
            "answer": (time.perf_counter() - started) * 1000,
        }
        return result

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer:
        """Answer one question; `on_token` receives the text as a language model streams it (if one is set)."""
        started = time.perf_counter()
        text = clean_question(question, self.settings.max_question_chars)
        turns = trim(history or [], self.settings.history_turns)
        inputs = AskInput(question=text, history=turns, on_token=on_token)
        if tracing_enabled():  # through LangChain's runnables, so the run is traced
            result = self.chain.invoke(inputs)
        else:  # the same three steps, without loading LangChain's tracers
            result = self._answer(self._retrieve(self._condense(inputs)))
        result.timings_ms["total"] = (time.perf_counter() - started) * 1000
        return result

    def documents(self) -> list[DocumentInfo]:
        infos = [
            DocumentInfo(str(m["doc_id"]), str(m.get("title", m["doc_id"])), m.get("date"), m.get("url"))
            for m in self.index.document_metadatas()
        ]
        return sorted(infos, key=lambda d: (d.date or "", d.doc_id))

    def chunk_text(self, chunk_id: str) -> str | None:
        found = self.index.chunks_by_id([chunk_id]).get(chunk_id)
        return found[0] if found else None


def build_embeddings(settings: Settings) -> Embedder:
    cache = settings.data_dir / "embeddings.sqlite3" if settings.data_dir.exists() else None
    return make_embeddings(settings.embedder, settings.embed_threads, cache, settings.embed)


def build_latent(settings: Settings) -> CachedLatent:
    """The latent terms the answerer ranks sentences with, cached in the data directory."""
    cache = settings.data_dir / "latent_terms.sqlite3" if settings.data_dir.exists() else None
    return make_latent(settings.embedder, LATENT_TOP_K, settings.embed_threads, cache)


def ingest_articles(
    settings: Settings,
    paths: Sequence[Path],
    embeddings: Embedder,
    progress: Progress | None = None,
    *,
    on_articles: Progress | None = None,
) -> IngestReport:
    """What the product's ingest commands run (`kilde ingest`, the chat's and the bot's updates, `/add`): index
    exactly these articles (`retrieval.index.ingest.ingest`), then make the latent terms of the sentences of the
    articles it added or changed, so that no question waits for them. A question makes any still missing; the
    low-level ingest alone makes none, so a benchmark of indexing times indexing only."""
    from retrieval.index.ingest import ingest  # not on the question path

    report = ingest(settings, paths, embeddings, progress, on_articles=on_articles)
    docs = [*report.added, *report.updated]
    if docs and settings.data_dir.exists():  # without a data directory there is nowhere to keep them
        started = time.perf_counter()
        with contextlib.suppress(KildeError, OSError):  # the index is made; a question makes what is missing
            texts = open_read_index(settings, embeddings).doc_parts(docs)[1].get("documents") or []
            build_latent(settings).of([t or "" for t in texts])
        report.latent_seconds = time.perf_counter() - started
    return report


def open_index(settings: Settings, embeddings: Embedder) -> Index:
    return Index(open_client(settings), embeddings, settings.collection, settings.embedder_id)


def open_read_index(settings: Settings, embeddings: Embedder) -> ReadIndex:
    """What questions are answered from: a local index's copy saved at ingest, when current; else Chroma."""
    if not settings.chroma.url:
        snapshot = SnapshotIndex.load(settings.data_dir, settings.collection, settings.embedder_id)
        if snapshot is not None:
            return snapshot
    return open_index(settings, embeddings)


def build_generator(settings: Settings) -> Generator | None:
    """The language-model answerer when `KILDE_LLM_BASE_URL` is set; otherwise None (extractive answers)."""
    if not settings.llm.base_url:
        return None
    from retrieval.answering.generated import build_llm_generator

    generator: Generator = build_llm_generator(settings)
    return generator


def build_service(
    settings: Settings, embeddings: Embedder | None = None, generator: Generator | None = None
) -> Service:
    embeddings = embeddings or build_embeddings(settings)
    generator = generator or build_generator(settings)
    return Service(settings, open_read_index(settings, embeddings), embeddings, generator)


def corpus_paths(settings: Settings, paths: list[Path] | None = None) -> list[Path]:
    return list(paths) if paths else [settings.corpus_dir]
