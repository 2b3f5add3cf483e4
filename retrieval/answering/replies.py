"""What every answerer says the same way: refusals, citations, quoted passages, and answers about an article's
own facts (who wrote it, when and where it was published), taken from its front matter."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document

from retrieval.answering.features import article_language
from retrieval.answering.language import content_lemmas, part_match
from retrieval.answering.lexicon import HAND_SET, lexicon
from retrieval.answering.question import Question
from retrieval.text import words
from retrieval.types import Answer, Citation, Language, quote_page

# Anything in a source that a model could copy as a marker: "[7]", "[ 3 ]", "[1, 2]", "[4;5]", "［7］", "【7】".
_LOOKALIKE = re.compile(r"[\[［【]\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*[\]］】]")
REFUSAL: dict[Language, str] = {lang: lexicon(lang).phrase("refusal") for lang in ("da", "en")}


def unmark(text: str) -> str:
    """Bracketed numbers that would read as citation markers, in parentheses: "[7]" -> "(7)". An article's own
    footnote is text, never one of our citations."""
    return _LOOKALIKE.sub(lambda m: f"({' '.join(m.group(1).split())})", text)


def refuse(q: Question, reason: str) -> Answer:
    return Answer(question=q.text, text=REFUSAL[q.language], refused=True, language=q.language, reason=reason)


def citation(n: int, chunk_id: str, meta: dict[str, Any], quote: str, chunk_text: str | None = None) -> Citation:
    """Source `n`: the quoted passage of one chunk, with the PDF page it is on when the article has pages."""
    return Citation(
        n=n,
        doc_id=str(meta["doc_id"]),
        chunk_id=chunk_id,
        title=str(meta.get("title", meta["doc_id"])),
        date=meta.get("date"),
        url=meta.get("url"),
        quote=quote,
        publisher=meta.get("publisher"),
        author=meta.get("author"),
        page=quote_page(meta, chunk_text, quote) if chunk_text else meta.get("page"),
    )


def frame(question_language: Language, article_language: Language) -> str:
    """What opens a quote in another language than the question's: "The articles say (in Danish): "."""
    lex = lexicon(question_language)
    return str(lex.phrase("frame")).format(language=lex.phrase("language_names")[article_language])


@dataclass(frozen=True)
class Quote:
    """A stretch of an article to quote: `start`-`end`, cut from the sentence at `sentence_start`-`sentence_end`."""

    doc_id: str
    start: int
    end: int
    sentence_start: int
    sentence_end: int
    language: Language = "da"


def _chunks(chunks: dict[str, Any], kind: str) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (cid, text or "", dict(m or {}))
        for cid, text, m in zip(chunks["ids"], chunks["documents"], chunks["metadatas"], strict=True)
        if (m or {}).get("kind") == kind
    ]


def compose(q: Question, quotes: list[Quote], chunks: dict[str, Any], docs: list[Document]) -> Answer:
    """The answer quoting each stretch in reading order ("…" where a sentence is cut), each cited by the
    best-ranked body chunk that holds it; a refusal when no chunk holds any."""
    ranked = [str(d.metadata.get("chunk_id", d.id)) for d in docs]
    body = _chunks(chunks, "body")
    numbers: dict[str, int] = {}
    spans: dict[str, tuple[int, int, str, dict[str, Any]]] = {}
    pieces: list[str] = []
    for quote in quotes:
        holding = [
            (cid, ctext, meta)
            for cid, ctext, meta in body
            if meta["doc_id"] == quote.doc_id and meta["start"] <= quote.start and quote.end <= meta["end"]
        ]
        if not holding:
            continue
        cid, ctext, meta = min(holding, key=lambda c: ranked.index(c[0]) if c[0] in ranked else len(ranked))
        n = numbers.setdefault(cid, len(numbers) + 1)
        lo, hi, _, _ = spans.get(cid, (quote.start, quote.end, ctext, meta))
        spans[cid] = (min(lo, quote.start), max(hi, quote.end), ctext, meta)
        offset = int(meta["start"])
        text = unmark(ctext[quote.start - offset : quote.end - offset])
        text = ("… " if quote.start > quote.sentence_start else "") + text
        text += " …" if quote.end < quote.sentence_end else ""
        if quote.language != q.language and not pieces:
            text = frame(q.language, quote.language) + text
        pieces.append(f"{text} [{n}]")
    if not pieces:
        return refuse(q, "no chunk holds the chosen sentence")
    citations = []
    for cid, n in numbers.items():
        lo, hi, ctext, meta = spans[cid]
        offset = int(meta["start"])
        citations.append(citation(n, cid, meta, ctext[lo - offset : hi - offset], ctext))
    return Answer(question=q.text, text=" ".join(pieces), refused=False, language=q.language, citations=citations)


def metadata_answer(q: Question, docs: list[Document], chunks: dict[str, Any], idf: dict[str, float]) -> Answer:
    """Who wrote it, when and where it was published: from the front matter of the retrieved article that the
    question's subject (its names and other content words) best matches; a subject no article has is refused."""
    meta_chunks = {str(m["doc_id"]): (cid, text, m) for cid, text, m in _chunks(chunks, "meta")}
    ranked = [d for d in dict.fromkeys(str(d.metadata["doc_id"]) for d in docs) if d in meta_chunks]
    if not ranked:
        return refuse(q, "no front matter for the article")
    texts: dict[str, list[str]] = {}
    for _, text, m in _chunks(chunks, "body"):
        texts.setdefault(str(m["doc_id"]), []).append(text)
    scored = []
    for doc_id in ranked:
        text = meta_chunks[doc_id][1] + "\n" + "\n".join(texts.get(doc_id, []))
        # across languages only the names carry over ("the mayor of Rudersdal": Rudersdal)
        same_language = article_language(text) == q.language
        subject = [t for t in q.subject() if t not in q.names] if same_language else []
        found = set(words(text)) | set(content_lemmas(text, q.language))
        names_ok = all(n in found or n.rstrip("s") in found for n in q.names)
        total = sum(idf.get(t, 1.0) for t in subject) or 1.0
        coverage = sum(idf.get(t, 1.0) * part_match(t, found) for t in subject) / total if subject else 1.0
        scored.append((names_ok, coverage, -ranked.index(doc_id), doc_id))
    names_ok, coverage, _, top = max(scored)
    if not names_ok or coverage < HAND_SET["meta_subject_coverage"]:
        return refuse(q, f"no article about that (subject found {coverage:.2f})")
    cid, text, meta = meta_chunks[top]
    values = {f: meta.get(f) for f in q.meta_fields}
    if not all(values.values()):
        return refuse(q, f"the article does not name its {', '.join(q.meta_fields)}")
    lex = lexicon(q.language)
    phrases = [lex.phrase("meta_phrases")[f].format(_human_date(str(v), q.language) if f == "date" else v) for f, v in values.items()]
    title = str(meta.get("title", top))
    opening = f"«{title}»" if q.language == "da" else f"“{title}”"
    joined = f" {lex.phrase('and')} ".join(phrases)
    answer = f"{opening} {joined} [1]."
    lines = [line for line in text.split("\n") if any(str(v) in line for v in values.values())]
    quote = text[text.index(lines[0]) : text.index(lines[-1]) + len(lines[-1])] if lines else text
    return Answer(question=q.text, text=answer, refused=False, language=q.language, citations=[citation(1, cid, meta, quote, text)])


def _human_date(value: str, language: Language) -> str:
    try:
        day = dt.date.fromisoformat(value[:10])  # YYYY-MM-DD, of a date with a time or not
    except ValueError:
        return value
    names = lexicon(language).months
    if language == "da":
        return f"{day.day}. {names[day.month - 1]} {day.year} ({value})"
    return f"{day.day} {names[day.month - 1].capitalize()} {day.year} ({value})"
