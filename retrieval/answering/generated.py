"""The optional answerer backed by a language model behind an OpenAI-compatible endpoint.

The model sees only the retrieved chunks, as numbered sources. Its reply is checked as it will be shown before
anyone sees any of it (`retrieval.answering.citations`): a sentence without a valid marker, or not supported by
the passage it cites, is dropped; an answer with nothing left, or in the wrong language, is replaced by the
extractive answer, as is any failure of the model (a `ModelError`, the cue of LangChain's `with_fallbacks`).
"""

from __future__ import annotations

import functools
import json
import logging
import re
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypedDict
from urllib.parse import urlsplit, urlunsplit

import httpx
import httpx2  # openai's HTTP client
from langchain_core.messages import BaseMessage, HumanMessage, SystemMessage
from langchain_core.runnables import Runnable, RunnableLambda

from prompts import fill, prompt_messages
from retrieval.answering.citations import (
    REFUSAL_MARKER,
    answer_language,
    build_citations,
    check_answer,
    clean_reply,
    format_history,
    format_sources,
    neutralise,
    renumber,
    strip_markers,
    strip_reasoning,
)
from retrieval.answering.lexicon import HAND_SET, lexicon
from retrieval.answering.replies import REFUSAL
from retrieval.errors import ModelError, UsageError
from retrieval.safe_text import safe_text
from retrieval.secrets import protect_settings, redact
from retrieval.text import content_terms, guess_language
from retrieval.types import Answer, Language, Turn

if TYPE_CHECKING:
    from langchain_core.documents import Document
    from langchain_core.language_models import BaseChatModel

    from retrieval.settings import Settings

log = logging.getLogger(__name__)

MAX_QUERY_TOKENS: int = HAND_SET["max_query_tokens"]


class _Incomplete(Exception):
    """The model's reply stopped before the end, or was empty."""


class _Deadline(TimeoutError):
    """No complete reply in time."""


class _Never(Exception):
    """Stands in for openai's errors when the optional `llm` extra is not installed: none of them can occur."""


try:
    from openai import APIConnectionError, APIStatusError, APITimeoutError
except ImportError:
    APIConnectionError = APIStatusError = APITimeoutError = _Never  # type: ignore[misc,assignment]

_TIMEOUT = (TimeoutError, httpx.TimeoutException, httpx2.TimeoutException, APITimeoutError)
_BROKEN_OFF = (httpx.RemoteProtocolError, httpx.ReadError, httpx2.RemoteProtocolError, httpx2.ReadError)
_CONNECT = (httpx.ConnectError, httpx2.ConnectError)
_NO_CONNECTION = (ConnectionError, *_CONNECT, APIConnectionError)
_UNREACHABLE = (*_TIMEOUT, *_CONNECT, ConnectionRefusedError)  # down or stuck: skip it for a while


class ModelRequest(TypedDict):
    """What the model step answers from; `extractive` is the offline answer its fallback gives."""

    question: str
    history: list[Turn]
    docs: list[Document]
    extractive: Callable[[], Answer]
    on_token: Callable[[str], None] | None


class LLMGenerator:
    """Implements `retrieval.types.Generator` with any LangChain chat model (tests pass fakes)."""

    def __init__(
        self,
        model: BaseChatModel,
        *,
        fallback: bool = True,
        timeout: float = HAND_SET["timeout_s"],
        endpoint: str = "the language model",
        require_finish: bool = False,
        cooldown: float = HAND_SET["cooldown_s"],
        condense_model: Runnable[list[BaseMessage], BaseMessage] | None = None,
    ) -> None:
        self.model = model
        self.condense_model = condense_model or model
        self.fallback = fallback
        self.timeout = timeout
        self.endpoint = endpoint
        # OpenAI-compatible servers end a complete stream with a finish_reason; a cut one has none.
        self.require_finish = require_finish
        self.cooldown = cooldown
        self._down_until = 0.0
        self._lock = threading.Lock()
        self._model_answer: Runnable[ModelRequest, Answer] = RunnableLambda(self._answer_from_model)
        self._model_or_extractive_answer = self._model_answer.with_fallbacks(
            [RunnableLambda(lambda request: _fallback(request["extractive"], {"model_error": 1}))],
            exceptions_to_handle=(ModelError,),
        )

    def condense(self, question: str, history: list[Turn]) -> str | None:
        if not history or self._is_down():
            return None
        values = {"history": format_history(history), "question": neutralise(question)}
        try:
            reply = self.condense_model.invoke(_messages("condense", values))
        except Exception as exc:
            self._note_failure(exc, "condensing the follow-up failed; using the rule-based query")
            return None
        query = clean_query(str(reply.text), question, values["history"])
        if query is None:
            log.info("the model's standalone question does not read as one; using the rule-based query")
        return query

    def generate(
        self,
        question: str,
        history: list[Turn],
        docs: list[Document],
        extractive: Callable[[], Answer],
        on_token: Callable[[str], None] | None,
    ) -> Answer:
        if not docs:
            return extractive()  # nothing to answer from: the extractive answerer refuses without a call
        request = ModelRequest(
            question=question, history=history, docs=docs, extractive=extractive, on_token=on_token
        )
        step = self._model_or_extractive_answer if self.fallback else self._model_answer
        return step.invoke(request)

    def _answer_from_model(self, request: ModelRequest) -> Answer:
        """The checked model answer; any failure of the model is a `ModelError` (the fallback's cue)."""
        question, docs, on_token = request["question"], request["docs"], request["on_token"]
        language = guess_language(question)
        if self._is_down():
            message = f"the language model at {self.endpoint} was not asked: it failed less than {self.cooldown:g} s ago"
            log.info(message)  # the failure itself was logged a moment ago
            raise ModelError(message)
        history = format_history(request["history"])
        values = {
            "sources": format_sources(docs),
            "history": f"\n<conversation>\n{history}\n</conversation>\n" if history else "",
            "question": neutralise(question),
            "language": lexicon("en").phrase("language_names")[language],
            "refusal": REFUSAL_MARKER,
        }
        gate = TokenGate(on_token, [d.page_content for d in docs], question, language) if on_token else None
        try:
            raw = self._call(_messages("answer", values), gate)
        except Exception as exc:
            reason = self._note_failure(exc, "")
            raise ModelError(f"the language model at {self.endpoint} failed: {reason}") from exc
        return self.verify(question, language, raw, docs, request["extractive"])

    def verify(
        self,
        question: str,
        language: Language,
        raw: str,
        docs: Sequence[Document],
        extractive: Callable[[], Answer],
    ) -> Answer:
        """Turn the model's raw reply into the Answer a user sees; nothing uncited or invented gets through."""
        text = safe_text(clean_reply(raw))  # judged exactly as it will be shown
        if is_refusal(text):
            return Answer(question, REFUSAL[language], True, language, answerer="llm")
        cited = renumber(text, len(docs))
        repairs = {"invalid_citations": cited.invalid} if cited.invalid else {}
        if not cited.sources:
            return _fallback(
                extractive, {**repairs, "uncited_replaced": 1}, "the model's answer cites no given source"
            )
        written = answer_language(cited.text)
        if written is not None and written != language:
            why = f"the model answered in {written} to a question in {language}"
            return _fallback(extractive, {**repairs, "wrong_language": 1}, why)
        checked = check_answer(text, [d.page_content for d in docs], question)
        if checked.dropped:
            repairs["unsupported_sentences"] = checked.dropped
        if not checked.sources:
            why = "no sentence of the model's answer is supported by its sources"
            return _fallback(extractive, {**repairs, "uncited_replaced": 1}, why)
        citations = build_citations(checked.text, checked.sources, docs)
        return Answer(
            question, checked.text, False, language, citations=citations, answerer="llm", repairs=repairs
        )

    def _call(self, messages: list[BaseMessage], gate: TokenGate | None) -> str:
        """The model's whole reply; streamed through `gate` when there is one."""
        if gate is None:
            text = str(self.model.invoke(messages).text)
        else:
            deadline, parts, finished = time.monotonic() + self.timeout, [], False
            stream = self.model.stream(messages)
            try:
                for chunk in stream:
                    if delta := str(chunk.text):
                        parts.append(delta)
                        gate.feed(delta)
                    finished = finished or bool(chunk.response_metadata.get("finish_reason"))
                    if time.monotonic() > deadline:
                        raise _Deadline(f"no complete answer within {self.timeout:g} s")
            finally:
                getattr(stream, "close", lambda: None)()  # stop the server's stream
            text = "".join(parts)
            if self.require_finish and not finished:
                raise _Incomplete("the answer stream stopped before the end")
        if not strip_reasoning(text).strip():
            raise _Incomplete("the model sent an empty answer")
        if gate is not None:
            gate.feed("", complete=True)
        return text

    def _is_down(self) -> bool:
        with self._lock:
            return time.monotonic() < self._down_until

    def _note_failure(self, exc: BaseException, what: str) -> str:
        """Log one line about a failed call (never the key) and remember an unreachable server for a while."""
        reason = self.describe(exc)
        if _caused_by(exc, _UNREACHABLE) and not _caused_by(exc, _BROKEN_OFF):
            with self._lock:
                self._down_until = time.monotonic() + self.cooldown
        if what:
            log.warning("%s: %s", what, reason)
        elif self.fallback:
            log.warning(
                "the language model at %s failed (%s); using the extractive answer", self.endpoint, reason
            )
        else:  # the ModelError raised next is the one line the user sees
            log.info("the language model at %s failed (%s)", self.endpoint, reason)
        return reason

    def describe(self, exc: BaseException) -> str:
        """One short line about what went wrong, with any secret masked."""
        if isinstance(exc, _Deadline | _Incomplete):
            reason = str(exc)
        elif _caused_by(exc, _TIMEOUT):
            reason = f"no answer within {self.timeout:g} s"
        elif _caused_by(exc, _BROKEN_OFF):
            reason = "the connection broke off in the middle of the answer"
        elif _caused_by(exc, _NO_CONNECTION):
            reason = "cannot connect to the server"
        elif isinstance(exc, APIStatusError):
            reason = f"HTTP {exc.status_code}"
        elif _caused_by(exc, json.JSONDecodeError):
            reason = "the server's reply is not valid JSON"
        else:
            first = (str(exc).strip().splitlines() or [""])[0]
            reason = f"{type(exc).__name__}: {first}" if first else type(exc).__name__
        return redact(reason)[: HAND_SET["reason_chars"]]


def _caused_by(
    exc: BaseException | None, kinds: type[BaseException] | tuple[type[BaseException], ...]
) -> bool:
    """Whether the exception, or one it was raised from (httpx under openai), is one of `kinds`."""
    for _ in range(HAND_SET["cause_depth"]):
        if exc is None or isinstance(exc, kinds):
            return exc is not None
        exc = exc.__cause__ or exc.__context__
    return False


@dataclass
class TokenGate:
    """Passes streamed text on to the front end only once it has passed the checks of the final answer: complete
    sentences, renumbered exactly as the final answer shows them, so nothing it would not hold is ever shown (the
    front end keeps its "thinking" state). A failing callback is logged once and then left alone: a broken display
    never breaks the answer."""

    sink: Callable[[str], None] | None
    passages: list[str]
    question: str
    language: Language
    raw: str = ""
    shown: str = ""

    def feed(self, delta: str, *, complete: bool = False) -> None:
        """The next piece of the stream; `complete` once it ended normally (its last sentence is complete too)."""
        self.raw += delta
        if self.sink is None:
            return
        checked = check_answer(clean_reply(self.raw), self.passages, self.question, complete=complete)
        # Only ever append: what was shown stays true (a re-split that would change it waits for the end).
        if len(checked.text) <= len(self.shown) or not checked.text.startswith(self.shown):
            return
        if answer_language(checked.text) not in (None, self.language):  # the final answer will not be this
            return
        new, self.shown = checked.text[len(self.shown) :], checked.text
        try:
            self.sink(new)
        except Exception as exc:
            log.warning("showing the streamed answer failed (%s); the final answer still comes", exc)
            self.sink = None


def _messages(prompt: str, values: dict[str, str]) -> list[BaseMessage]:
    roles = {"system": SystemMessage, "user": HumanMessage}
    return [roles[role](content=fill(template, values)) for role, template in prompt_messages(prompt)]


def _fallback(extractive: Callable[[], Answer], repairs: dict[str, int], why: str = "") -> Answer:
    if why:
        log.info("%s; using the extractive answer", why)
    answer = extractive()
    answer.answerer = "extractive"
    answer.repairs = {**answer.repairs, **repairs, "fallback": 1}
    return answer


def is_refusal(text: str) -> bool:
    """Whether the reply IS the refusal marker (quotes, a full stop or a marker around it aside)."""
    return strip_markers(text).strip(" \t\n\"'`*.:“”«»") == REFUSAL_MARKER


def clean_query(reply: str, question: str, history: str = "") -> str | None:
    """The standalone question from a condense reply (its first line, without labels or quotes), or None when it
    does not read as a rewrite of the follow-up: too long, in another language, with a line of the prompt in
    it, or with too few of its words taken from the conversation (a rewrite only borrows names and things)."""
    text = safe_text(clean_reply(reply))
    line = next((s.strip() for s in text.splitlines() if s.strip()), "").strip("\"'“”«»„ ").strip()
    longest = HAND_SET["query_length_factor"] * len(question) + HAND_SET["query_length_slack"]
    if not line or REFUSAL_MARKER in line or len(line) > min(HAND_SET["max_query_chars"], longest):
        return None
    if any(part in line.lower() for part in _prompt_lines("condense")):
        return None
    language = guess_language(question)
    if guess_language(line) != language:
        return None
    terms = content_terms(line, language)
    known = set(content_terms(f"{question}\n{history}", language))
    return line if terms and sum(t in known for t in terms) >= HAND_SET["query_share"] * len(terms) else None


@functools.cache
def _prompt_lines(name: str) -> tuple[str, ...]:
    """The fixed lines of a prompt (placeholders cut out), lower-cased: text a model may echo instead of answering."""
    parts = (
        p.strip().lower() for _, t in prompt_messages(name) for p in re.split(r"\{\w+\}|<[^>\n]*>|\n", t)
    )
    return tuple(p for p in parts if len(p) >= HAND_SET["prompt_line_min_chars"])


def public_url(url: str) -> str:
    """The endpoint as it may be logged: without user, password or query string."""
    parts = urlsplit(url)
    host = f"{parts.hostname}:{parts.port}" if parts.port else parts.hostname or ""
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def build_llm_generator(settings: Settings) -> LLMGenerator:
    """The generator for `KILDE_LLM_BASE_URL`, through langchain-openai (the optional `llm` extra)."""
    if not settings.llm.base_url:
        raise UsageError("set KILDE_LLM_BASE_URL to use a language model")
    try:
        from langchain_openai import ChatOpenAI
    except ImportError:
        raise UsageError(
            "KILDE_LLM_BASE_URL is set but langchain-openai is not installed: "
            "pip install 'kilde[llm]' (or uv sync --extra llm)"
        ) from None
    model = ChatOpenAI(
        base_url=settings.llm.base_url,
        model=settings.llm.model,
        api_key=settings.llm.api_key,
        timeout=settings.llm.timeout,
        max_retries=0,  # the timeout is the whole wait; a failure falls back at once
        temperature=settings.llm.temperature,
        # Sent as `max_tokens`, which Ollama, llama-server and vLLM all read (`max_completion_tokens`,
        # what langchain-openai would send, is ignored by Ollama's OpenAI layer).
        extra_body={"max_tokens": settings.llm.max_tokens},
    )
    protect_settings(settings)  # the client's errors may quote the key or the url's credentials
    return LLMGenerator(
        model,
        fallback=settings.llm.fallback,
        timeout=settings.llm.timeout,
        endpoint=public_url(settings.llm.base_url),
        require_finish=True,
        condense_model=model.bind(extra_body={"max_tokens": MAX_QUERY_TOKENS}),
    )
