"""Pure text logic around a generated answer: the source block sent to the model, and the [n] markers of its reply.

Nothing here calls a model. `renumber` keeps only the markers that name a given source, renumbered 1..k in order
of first use; `quote_for` picks the passage of a chunk a claim was taken from (a verbatim substring of the chunk).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document

from retrieval.answering.replies import citation, unmark
from retrieval.text import content_terms, guess_language, names_in, split_sentences, words
from retrieval.types import Citation, Language, Turn

REFUSAL_MARKER = "NO_ANSWER"

# [3], [1, 2], [1;2]; `_MARKER` takes the space before it, so a removed marker leaves no gap before a full stop.
_NUMBERS = r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]"
_MARKER = re.compile(r"([ \t]*)" + _NUMBERS)
_LEADING_MARKERS = re.compile(rf"^(?:\s*{_NUMBERS})+")
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
        fields = {"title": meta.get("title", meta.get("doc_id", ""))}
        fields |= {key: meta[key] for key in ("date", "publisher") if meta.get(key)}
        attributes = "".join(f' {key}="{_attribute(value)}"' for key, value in fields.items())
        parts.append(f'<source n="{n}"{attributes}>\n{neutralise(doc.page_content.strip())}\n</source>')
    return "\n".join(parts)


def format_history(history: Sequence[Turn], turns: int = 3, max_chars: int = 400) -> str:
    """The last turns as `User:` / `Assistant:` lines; old [n] markers go, since they name other sources."""
    lines = []
    for turn in list(history)[-turns:]:
        lines.append(f"User: {neutralise(strip_markers(turn.question))}")
        answer = strip_markers(turn.answer.split("\n\n")[0])
        if len(answer) > max_chars:
            answer = answer[:max_chars].rsplit(" ", 1)[0] + " …"
        if answer:
            lines.append(f"Assistant: {neutralise(answer)}")
    return "\n".join(lines)


# -- what comes back -------------------------------------------------------------------------------------------


def strip_reasoning(text: str) -> str:
    """Drop a `<think>` block that reasoning models put first; an unclosed one hides everything after it."""
    text = _THINK.sub("", text)
    return "" if text.lstrip().lower().startswith("<think>") else text


def clean_reply(text: str) -> str:
    """The model's reply without reasoning, an `Answer:` label or a trailing list of sources."""
    text = _LABEL.sub("", strip_reasoning(text).strip(), count=1)
    return _SOURCES_TAIL.sub("", "\n" + text).strip()


def strip_markers(text: str) -> str:
    return " ".join(_MARKER.sub("", text).split())


def cited(text: str) -> list[int]:
    """The numbers the markers of `text` name, in order, repeats and numbers naming no source included."""
    return [int(n) for m in _MARKER.finditer(text) for n in re.findall(r"\d+", m.group(2))]


def answer_sentences(text: str, complete: bool = True) -> list[tuple[str, str]]:
    """(whitespace before, sentence) pairs; a marker that opens a sentence belongs to the one before it. With
    `complete=False` (a reply still streaming) the last sentence, which may still grow, is left out."""
    pieces: list[list[str]] = []
    spans = split_sentences(text)
    if not complete and spans:
        last = spans.pop()
        if spans and last.text.lstrip().startswith("["):  # "… 44 år. [1" — the one before may still get it
            spans.pop()
    end = 0
    for span in spans:
        body = span.text
        lead = _LEADING_MARKERS.match(body)
        if lead and pieces:
            pieces[-1][1] += " " + lead.group().strip()
            body = body[lead.end() :].strip()
        if body:
            space = text[end : span.start]
            pieces.append(["\n\n" if "\n\n" in space else "\n" if "\n" in space else " ", body])
        end = span.end
    return [(gap, body) for gap, body in pieces]


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
        numbers = [int(n) for n in re.findall(r"\d+", match.group(2))]
        valid = [k for k in numbers if 1 <= k <= n_sources]
        invalid += len(numbers) - len(valid)
        new = dict.fromkeys(order.setdefault(k, len(order) + 1) for k in valid)
        return match.group(1) + "".join(f"[{n}]" for n in new) if new else ""

    text = _MARKER.sub(replace, text)
    text = re.sub(r"(\[\d+\])(?:\1)+", r"\1", text)  # "[1][1]" after merging "[1][7][1]"
    return Renumbered(text.strip(), list(order), invalid)


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


def build_citations(text: str, used: Sequence[int], docs: Sequence[Document]) -> list[Citation]:
    """Citation n (1-based, in order of first use) for each used source, quoting the sentences that cite it."""
    claims: dict[int, list[str]] = {}
    for _, sentence in answer_sentences(text):
        for n in cited(sentence):
            claims.setdefault(n, []).append(strip_markers(sentence))
    out = []
    for n, k in enumerate(used, start=1):
        doc = docs[k - 1]
        quote = quote_for(doc.page_content, claims.get(n, []))
        out.append(
            citation(n, str(doc.metadata.get("chunk_id", doc.id)), doc.metadata, quote, doc.page_content)
        )
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
