"""The values every front end reads: one `Answer`, numbered `Citation`s, the `Retrieved` chunks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

if TYPE_CHECKING:
    from langchain_core.documents import Document

Language = Literal["da", "en"]


@dataclass(frozen=True)
class Turn:
    """One earlier exchange in a chat, used to understand follow-up questions."""

    question: str
    answer: str = ""


@dataclass(frozen=True)
class Citation:
    """Source `n` of an answer: the exact passage of one chunk that a claim was taken from."""

    n: int
    doc_id: str
    chunk_id: str
    title: str
    date: str | None
    url: str | None
    quote: str
    publisher: str | None = None
    author: str | None = None
    page: str | None = (
        None  # the page (or pages, "3-4") of a PDF the quote is on: the chunk's metadata "page"
    )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def page_label(self, language: Language) -> str | None:
        """'s. 3' in a Danish answer, 'p. 3' in an English one; None when the source has no pages."""
        if not self.page:
            return None
        return f"{'s.' if language == 'da' else 'p.'} {self.page}"


def quote_page(meta: dict[str, Any], chunk_text: str, quote: str) -> str | None:
    """The PDF page a quote from this chunk is on, from the chunk's metadata "page" and "page_breaks"
    (see `retrieval.index.chunks`); None for an article without pages."""
    page = meta.get("page")
    if not page:
        return None
    breaks = str(meta.get("page_breaks") or "")
    at = chunk_text.find(quote.strip()[:60]) if quote.strip() else -1
    if not breaks or at < 0:
        return str(page)
    current = str(page).split("-", 1)[0]
    for part in breaks.split(","):
        offset, _, number = part.partition(":")
        if offset.isdigit() and int(offset) <= at:
            current = number
    return current


@dataclass(frozen=True)
class Retrieved:
    doc_id: str
    chunk_id: str
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {"doc_id": self.doc_id, "chunk_id": self.chunk_id, "score": round(self.score, 6)}


@dataclass
class Answer:
    """An answer as shown to a user. `text` carries the markers [n] that index `citations`."""

    question: str
    text: str
    refused: bool
    language: Language
    citations: list[Citation] = field(default_factory=list)
    retrieved: list[Retrieved] = field(default_factory=list)
    timings_ms: dict[str, float] = field(default_factory=dict)
    answerer: str = "extractive"
    # What citation verification had to repair in a generated answer, e.g. {"invalid_citations": 1}.
    repairs: dict[str, int] = field(default_factory=dict)
    # Why the answerer refused, for people tuning it (not shown as the answer).
    reason: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "question": self.question,
            "answer": self.text,
            "refused": self.refused,
            "language": self.language,
            "answerer": self.answerer,
            "citations": [c.to_dict() for c in self.citations],
            "retrieved": [r.to_dict() for r in self.retrieved],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "repairs": dict(self.repairs),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class DocumentInfo:
    doc_id: str
    title: str
    date: str | None = None
    url: str | None = None


class AnswerService(Protocol):
    """What every front end (terminal, Telegram, evaluation) calls. `answer` is blocking and thread-safe."""

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer: ...

    def documents(self) -> list[DocumentInfo]: ...


class Generator(Protocol):
    """An answerer backed by a language model (optional). The service hands it the retrieved chunks."""

    def condense(self, question: str, history: list[Turn]) -> str | None:
        """A standalone search query for a follow-up question, or None to keep the rule-based one."""
        ...

    def generate(
        self,
        question: str,
        history: list[Turn],
        docs: list[Document],
        extractive: Callable[[], Answer],
        on_token: Callable[[str], None] | None,
    ) -> Answer:
        """A cited answer from `docs` only; `extractive()` is the offline answer to fall back on."""
        ...
