"""The one answer service every front end calls, built from settings by `build_service`."""

from __future__ import annotations

import contextlib
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import TypedDict

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.runnables import Runnable, RunnableLambda

from retrieval.answering.extractive import ANSWER_DOCS, ExtractiveAnswerer
from retrieval.answering.fitted import FittedAnswerer
from retrieval.answering.parameters import DEFAULT_PARAMS, load_params
from retrieval.answering.question import analyse
from retrieval.conversation import Query, condense, trim
from retrieval.errors import UsageError
from retrieval.index.embeddings import make_embeddings
from retrieval.index.ingest import stored_language
from retrieval.index.lexical import LexicalIndex, lexical_key
from retrieval.index.search import HybridRetriever, ReadIndex
from retrieval.index.snapshot import SnapshotIndex
from retrieval.index.store import Index, open_client, read_state
from retrieval.langid import detect_language
from retrieval.settings import Settings
from retrieval.types import Answer, DocumentInfo, Generator, Retrieved, Turn

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
        self, settings: Settings, index: ReadIndex, embeddings: Embeddings, generator: Generator | None = None
    ) -> None:
        self.settings = settings
        self.generator = generator
        self.index = index
        self.embeddings = embeddings
        key = lexical_key(index.fingerprint())
        self.lexical = self._load_lexical(key)
        self.corpus_language = stored_language(read_state(settings.data_dir), key) or (
            detect_language(index.sample_text()) if self.lexical.ids else "da"
        )
        self.retriever = HybridRetriever(
            index=index, lexical=self.lexical, embed_query=self.embed_query, k=settings.top_k
        )
        params_path = settings.answer_params or DEFAULT_PARAMS
        self.extractive: ExtractiveAnswerer | FittedAnswerer = (
            FittedAnswerer(self.lexical, self.corpus_language, params_path=params_path)
            if settings.answerer == "fitted"
            else ExtractiveAnswerer(
                self.lexical,
                self.corpus_language,
                ranker=load_params(params_path) if settings.answerer == "hybrid" else None,
            )
        )
        self._vectors: OrderedDict[str, list[float]] = OrderedDict()
        self._lock = threading.Lock()
        self.chain = self._build_chain()

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

    def _build_chain(self) -> Runnable[AskInput, Answer]:
        """question + history -> standalone query -> hybrid retrieval -> answer, as LangChain runnables."""

        def make_query(inputs: AskInput) -> Condensed:
            query = condense(inputs["question"], inputs["history"])
            if self.generator is not None and inputs["history"]:
                standalone = self.generator.condense(inputs["question"], inputs["history"])
                if standalone:
                    query = Query(query.question, standalone, query.context_terms)
            return Condensed(**inputs, query=query)

        def retrieve(inputs: Condensed) -> Found:
            started = time.perf_counter()
            query = inputs["query"]
            vector = self.embed_query(query.text)
            docs = self.retriever.search(query.text, vector)
            question_vector = vector if query.text == query.question else self.embed_query(query.question)
            return Found(
                **inputs, docs=docs, vector=question_vector, t_retrieve=time.perf_counter() - started
            )

        def answer(inputs: Found) -> Answer:
            started = time.perf_counter()
            docs, query = inputs["docs"], inputs["query"]
            info = analyse(query.question)
            top_docs = list(dict.fromkeys(str(d.metadata["doc_id"]) for d in docs))[:ANSWER_DOCS]
            parts = self.index.doc_parts(top_docs) if top_docs else ({}, {})

            def extractive() -> Answer:
                return self.extractive.answer(info, docs, parts, inputs["vector"], query.context_terms)

            if self.generator is None:
                result = extractive()
            else:
                result = self.generator.generate(
                    query.question, inputs["history"], docs, extractive, inputs["on_token"]
                )
            result.retrieved = [
                Retrieved(str(d.metadata["doc_id"]), str(d.metadata["chunk_id"]), float(d.metadata["score"]))
                for d in docs
            ]
            result.timings_ms = {
                "retrieve": inputs["t_retrieve"] * 1000,
                "answer": (time.perf_counter() - started) * 1000,
            }
            return result

        return RunnableLambda(make_query) | RunnableLambda(retrieve) | RunnableLambda(answer)

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer:
        """Answer one question; `on_token` receives the text as a language model streams it (if one is set)."""
        started = time.perf_counter()
        text = clean_question(question, self.settings.max_question_chars)
        turns = trim(history or [], self.settings.history_turns)
        result = self.chain.invoke({"question": text, "history": turns, "on_token": on_token})
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


def build_embeddings(settings: Settings) -> Embeddings:
    cache = settings.data_dir / "embeddings.sqlite3" if settings.data_dir.exists() else None
    return make_embeddings(settings.embedder, settings.embed_threads, cache)


def open_index(settings: Settings, embeddings: Embeddings) -> Index:
    return Index(open_client(settings), embeddings, settings.collection, settings.embedder)


def open_read_index(settings: Settings, embeddings: Embeddings) -> ReadIndex:
    """What questions are answered from: a local index's copy saved at ingest, when current; else Chroma."""
    if not settings.chroma.url:
        snapshot = SnapshotIndex.load(settings.data_dir, settings.collection, settings.embedder)
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
    settings: Settings, embeddings: Embeddings | None = None, generator: Generator | None = None
) -> Service:
    embeddings = embeddings or build_embeddings(settings)
    generator = generator or build_generator(settings)
    return Service(settings, open_read_index(settings, embeddings), embeddings, generator)


def corpus_paths(settings: Settings, paths: list[Path] | None = None) -> list[Path]:
    return list(paths) if paths else [settings.corpus_dir]
