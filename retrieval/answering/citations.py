"""Pure text logic around a generated answer: the source block sent to the model, and the checks on its reply.

Nothing here calls a model. `format_sources` builds the delimited block of numbered sources; `renumber` keeps
only the [n] markers that name a given source and renumbers them 1..k in order of first use; `quote_for`
picks the passage of a chunk that a claim was taken from (always a verbatim substring of the chunk).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document

from retrieval.answering.replies import citation as chunk_citation
from retrieval.answering.replies import unmark
from retrieval.text import content_terms, guess_language, names_in, split_sentences, words
from retrieval.types import Citation, Language, Turn

REFUSAL_MARKER = "NO_ANSWER"

# [3], [1, 2], [1;2] — with the space before the marker, so a removed marker leaves no gap before a full stop.
_MARKER = re.compile(r"([ \t]*)\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
_SIMPLE_MARKER = re.compile(r"\[(\d+)\]")
_THINK = re.compile(r"<think>.*?</think>", re.DOTALL | re.IGNORECASE)
_SOURCES_TAIL = re.compile(
    r"\n\s*(?:\*\*)?(?:kilder|kilde|sources?|references?|referencer)(?:\*\*)?\s*:?(?:\*\*)?\s*\n.*\Z",
    re.DOTALL | re.IGNORECASE,
)
_LABEL = re.compile(
    r"^\s*(?:\*\*)?(?:answer|svar|standalone question|selvstændigt spørgsmål|question|spørgsmål)(?:\*\*)?\s*:\s*",
    re.IGNORECASE,
)
_QUOTED = re.compile(r"«[^»]*»|“[^”]*”|”[^”]*”|\"[^\"]*\"|„[^“”]*[“”]")


# -- what goes to the model ------------------------------------------------------------------------------------


def neutralise(text: str) -> str:
    """Article or chat text made safe inside the delimited blocks: no tags, no look-alike citation markers."""
    return unmark(text.replace("<", "‹").replace(">", "›"))


def _attribute(value: Any) -> str:
    return neutralise(" ".join(str(value).split())).replace('"', "'")


def format_sources(docs: Sequence[Document]) -> str:
    """The numbered sources, one `<source n=... title=... date=...>` element each, in the order given."""
    parts = []
    for n, doc in enumerate(docs, start=1):
        meta = doc.metadata
        attributes = [f'n="{n}"', f'title="{_attribute(meta.get("title", meta.get("doc_id", "")))}"']
        for key in ("date", "publisher"):
            if meta.get(key):
                attributes.append(f'{key}="{_attribute(meta[key])}"')
        parts.append(f"<source {' '.join(attributes)}>\n{neutralise(doc.page_content.strip())}\n</source>")
    return "\n".join(parts)


def strip_markers(text: str) -> str:
    return " ".join(_MARKER.sub("", text).split())


def format_history(history: Sequence[Turn], turns: int, max_chars: int) -> str:
    """Earlier turns as `User:` / `Assistant:` lines; old [n] markers go, since they name other sources."""
    lines = []
    for turn in list(history)[-turns:] if turns else []:
        lines.append(f"User: {neutralise(strip_markers(turn.question))}")
        answer = strip_markers(turn.answer.split("\n\n")[0])
        if answer:
            if len(answer) > max_chars:
                answer = answer[:max_chars].rsplit(" ", 1)[0] + " …"
            lines.append(f"Assistant: {neutralise(answer)}")
    return "\n".join(lines)


# -- what comes back -------------------------------------------------------------------------------------------


def strip_reasoning(text: str) -> str:
    """Drop a `<think>` block that reasoning models put first; an unclosed one hides everything after it."""
    text = _THINK.sub("", text)
    head = text.lstrip()
    if head.lower().startswith("<think>"):
        return ""
    return text


def clean_reply(text: str) -> str:
    """The model's reply without reasoning, an `Answer:` label or a trailing list of sources."""
    text = strip_reasoning(text).strip()
    text = _LABEL.sub("", text, count=1)
    text = _SOURCES_TAIL.sub("", "\n" + text).strip()
    return text


def is_refusal(text: str) -> bool:
    return REFUSAL_MARKER in text


def without_refusal_marker(text: str) -> str:
    return re.sub(r"[ \t]{2,}", " ", text.replace(REFUSAL_MARKER, " ")).strip()


@dataclass(frozen=True)
class Renumbered:
    text: str
    sources: list[int]  # the given source numbers (1-based) in order of first use; new number = index + 1
    invalid: int  # markers that named no given source, removed


def renumber(text: str, n_sources: int) -> Renumbered:
    """Keep only markers naming one of the `n_sources` sources, renumbered 1..k in order of first use."""
    order: dict[int, int] = {}
    invalid = 0

    def replace(match: re.Match[str]) -> str:
        nonlocal invalid
        new: list[int] = []
        for part in re.split(r"[,;\s]+", match.group(2)):
            if not part:
                continue
            k = int(part)
            if 1 <= k <= n_sources:
                n = order.setdefault(k, len(order) + 1)
                if n not in new:
                    new.append(n)
            else:
                invalid += 1
        if not new:
            return ""
        return match.group(1) + "".join(f"[{n}]" for n in new)

    text = _MARKER.sub(replace, text)
    text = re.sub(r"(\[\d+\])(?:\1)+", r"\1", text)  # "[1][1]" after merging "[1][7][1]"
    return Renumbered(text.strip(), list(order), invalid)


def claims(text: str) -> dict[int, list[str]]:
    """For each marker number, the sentences of the answer that cite it (markers removed)."""
    found: dict[int, list[str]] = {}
    spans = split_sentences(text)
    for i, span in enumerate(spans):
        leading = re.match(r"^(?:\s*\[\d+\])+", span.text)
        for m in _SIMPLE_MARKER.finditer(span.text):
            # "... in 2019. [2] Then ..." — a marker opening a sentence belongs to the one before it.
            owner = spans[i - 1] if leading and m.end() <= leading.end() and i > 0 else span
            found.setdefault(int(m.group(1)), []).append(strip_markers(owner.text))
    return found


def quote_for(chunk_text: str, claim_texts: Sequence[str]) -> str:
    """The chunk's sentences that best overlap the claims, as one verbatim span; the whole chunk if none does."""
    sentences = split_sentences(chunk_text)
    if len(sentences) <= 1:
        return chunk_text.strip()
    terms = [set(content_terms(s.text)) for s in sentences]
    lo, hi = len(chunk_text), 0
    for claim in claim_texts:
        wanted = set(content_terms(claim))
        scores = [len(wanted & t) for t in terms]
        best = max(range(len(sentences)), key=lambda i: (scores[i], -i))
        # One shared term is enough for a short claim or a short line (a field of the article's facts).
        required = 1 if len(wanted) <= 2 or len(terms[best]) <= 3 else 2
        if wanted and scores[best] >= required:
            lo, hi = min(lo, sentences[best].start), max(hi, sentences[best].end)
    return chunk_text[lo:hi] if lo < hi else chunk_text.strip()


def citation(n: int, doc: Document, quote: str) -> Citation:
    return chunk_citation(n, str(doc.metadata.get("chunk_id", doc.id)), doc.metadata, quote, doc.page_content)


def build_citations(text: str, used: Sequence[int], docs: Sequence[Document]) -> list[Citation]:
    """Citation n (1-based, in order of first use) for each used source, quoting the passage it supports."""
    by_number = claims(text)
    out = []
    for n, k in enumerate(used, start=1):
        doc = docs[k - 1]
        out.append(citation(n, doc, quote_for(doc.page_content, by_number.get(n, []))))
    return out


def answer_language(text: str) -> Language | None:
    """The language the prose of an answer is written in, or None when there is too little to tell.

    Names, quoted titles and words with æ/ø/å are left out: an English answer about Danish articles is
    full of Danish names ("Sønderborg"), which must not make it look Danish.
    """
    prose = strip_markers(_QUOTED.sub(" ", text))
    for name in names_in(prose):
        prose = prose.replace(name, " ")
    kept = [w for w in words(prose) if not any(ch in w for ch in "æøå") and not w.isdigit()]
    if len(kept) < 4:
        return None
    return guess_language(" ".join(kept))
