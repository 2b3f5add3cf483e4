"""What every answerer says the same way: refusals, citations, and answers about an article's own facts.

Article facts (who wrote it, when and where it was published) come from the front matter of the article the
question names: its subject words and names are looked for in each retrieved article (front matter and text,
lemmas and compound parts); a subject no article has is refused.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from langchain_core.documents import Document

from retrieval.answering.language import content_lemmas, lemma, part_match
from retrieval.answering.question import ARTICLE_WORDS, MetaField, QuestionInfo, lemma_view
from retrieval.answering.value_types import _MONTHS
from retrieval.text import words
from retrieval.types import Answer, Citation, Language

# Anything in a source that a model could copy as a marker: "[7]", "[ 3 ]", "[1, 2]", "[4;5]", "［7］", "【7】".
_LOOKALIKE = re.compile(r"[\[［【]\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*[\]］】]")


def unmark(text: str) -> str:
    """Bracketed numbers that would read as citation markers, in parentheses: "[7]" -> "(7)", "[1, 2]" -> "(1, 2)".

    For article text that ends up next to real markers: a footnote "[7]" copied from an article is text,
    never a citation.
    """
    return _LOOKALIKE.sub(lambda m: f"({' '.join(m.group(1).split())})", text)


REFUSAL: dict[Language, str] = {
    "da": "Det kan jeg ikke finde i artiklerne.",
    "en": "I can't find that in the articles.",
}

# Words that ask for an article's facts rather than name its subject (general vocabulary, as lemmas).
_META_WORDS = frozenset(
    [
        "skrive",
        "skrev",
        "skrevet",
        "forfatter",
        "journalist",
        "udgive",
        "udgivet",
        "udgiver",
        "udkomme",
        "publicere",
        "publiceret",
        "bringe",
        "bragt",
        "dato",
        "medie",
        "avis",
        "hjemmeside",
        "link",
        "url",
        "webadresse",
        "offentliggøre",
        "datere",
        "opdatere",
        "udsende",
        "udgivelsesdato",
        "write",
        "wrote",
        "written",
        "author",
        "publish",
        "published",
        "publisher",
        "date",
        "dated",
        "outlet",
        "newspaper",
        "website",
        "site",
        "post",
        "posted",
        "release",
        "released",
        "update",
        "updated",
        "byline",
        "publication",
        "magazine",
    ]
)
_META_SUBJECT_COVERAGE = 0.5  # at least half the subject's weight must be found in the article


def metadata_answer(
    info: QuestionInfo,
    docs: list[Document],
    chunks: dict[str, Any],
    sentences: dict[str, Any],
    *,
    idf: Callable[[str], float],
    language: Language,
) -> Answer:
    """Who wrote it, when and where it was published: from the front matter of the article the question
    names, cited. An article named by a subject the corpus does not hold is refused."""
    meta_chunks = {
        str((m or {}).get("doc_id")): Document(
            id=cid, page_content=text or "", metadata={**(m or {}), "chunk_id": cid}
        )
        for cid, text, m in zip(chunks["ids"], chunks["documents"], chunks["metadatas"], strict=True)
        if (m or {}).get("kind") == "meta"
    }
    ranked = [d for d in dict.fromkeys(str(d.metadata["doc_id"]) for d in docs) if d in meta_chunks]
    if not ranked:
        return refuse(info, "no front matter for the article")
    info = lemma_view(info)  # the subject is matched by lemmas, whichever answerer asks
    subject = [  # "portrættet af X": the article's form is no part of what it is about
        t
        for t in info.terms
        if t not in _META_WORDS and t not in info.category_terms and not ARTICLE_WORDS.fullmatch(t)
    ]
    names = list(dict.fromkeys(w for n in info.names for w in words(n)))
    if info.language != language:  # only names and numbers carry over to articles in another language
        subject = [t for t in subject if t in names or t.isdigit()]
    if subject or names:
        texts: dict[str, list[str]] = {}
        for text, m in zip(sentences.get("documents", []), sentences.get("metadatas", []), strict=True):
            texts.setdefault(str((m or {}).get("doc_id")), []).append(text or "")
        scored = []
        for doc_id in ranked:
            text = meta_chunks[doc_id].page_content + "\n" + "\n".join(texts.get(doc_id, []))
            lemmas = set(content_lemmas(text, language)) | set(words(text))
            weights = {t: idf(t) for t in subject}
            total = sum(weights.values()) or 1.0
            coverage = sum(w * part_match(t, lemmas) for t, w in weights.items()) / total if subject else 1.0
            names_ok = all(n in lemmas or part_match(lemma(n, language), lemmas) > 0 for n in names)
            scored.append((names_ok, coverage, -ranked.index(doc_id), doc_id))
        names_ok, coverage, _, top = max(scored)
        if not names_ok or coverage < _META_SUBJECT_COVERAGE:
            return refuse(info, f"no article about that (subject found {coverage:.2f})")
    else:
        top = ranked[0]
    target = meta_chunks[top]
    meta = target.metadata
    values = {f: meta.get(f) for f in info.meta_fields}
    if not all(values.values()):
        return refuse(info, f"the article does not name its {', '.join(info.meta_fields)}")
    title = str(meta.get("title", ""))
    phrases = [meta_phrase(f, str(v), info.language) for f, v in values.items()]
    joined = " og ".join(phrases) if info.language == "da" else " and ".join(phrases)
    text = f"«{title}» {joined} [1]." if info.language == "da" else f"“{title}” {joined} [1]."
    lines = [line for line in target.page_content.split("\n") if any(str(v) in line for v in values.values())]
    first = target.page_content.index(lines[0])
    last = target.page_content.index(lines[-1]) + len(lines[-1])
    cited = citation(1, str(meta.get("chunk_id", target.id)), meta, target.page_content[first:last])
    return Answer(question=info.text, text=text, refused=False, language=info.language, citations=[cited])


def refuse(info: QuestionInfo, reason: str) -> Answer:
    return Answer(
        question=info.text, text=REFUSAL[info.language], refused=True, language=info.language, reason=reason
    )


def citation(n: int, chunk_id: str, meta: dict[str, Any], quote: str) -> Citation:
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
    )


def meta_phrase(field: MetaField, value: str, language: Language) -> str:
    if field == "date":
        value = human_date(value, language)
    phrases: dict[MetaField, tuple[str, str]] = {
        "author": ("er skrevet af {}", "was written by {}"),
        "date": ("blev udgivet {}", "was published on {}"),
        "publisher": ("er udgivet af {}", "was published by {}"),
        "url": ("findes på {}", "is at {}"),
    }
    return phrases[field][0 if language == "da" else 1].format(value)


def human_date(value: str, language: Language) -> str:
    try:
        day = dt.date.fromisoformat(value[:10])
    except ValueError:
        return value
    if language == "da":
        return f"{day.day}. {_MONTHS[day.month - 1]} {day.year} ({value})"
    return f"{day.day} {_MONTHS[12 + day.month - 1].capitalize()} {day.year} ({value})"


_LANGUAGE_NAMES: dict[Language, dict[Language, str]] = {
    "da": {"da": "dansk", "en": "engelsk"},
    "en": {"da": "Danish", "en": "English"},
}


def frame(question_language: Language, corpus_language: Language) -> str:
    """What opens a quote in another language than the question's: "The articles say (in Danish): "."""
    name = _LANGUAGE_NAMES[question_language][corpus_language]
    return (
        f"Artiklerne siger (på {name}): " if question_language == "da" else f"The articles say (in {name}): "
    )


@dataclass(frozen=True)
class Quote:
    """A stretch of an article to quote: `start`-`end`, cut from the sentence at `sentence_start`-`sentence_end`."""

    doc_id: str
    start: int
    end: int
    sentence_start: int
    sentence_end: int


def compose(
    info: QuestionInfo,
    quotes: list[Quote],
    chunks: dict[str, Any],
    docs: list[Document],
    corpus_language: Language,
) -> Answer:
    """The answer quoting each stretch in reading order ("…" where a sentence is cut), each cited by the
    best-ranked body chunk that holds it; a refusal when no chunk holds any."""
    by_doc: dict[str, list[tuple[str, str, int, int, dict[str, Any]]]] = {}
    for cid, text, raw_meta in zip(chunks["ids"], chunks["documents"], chunks["metadatas"], strict=True):
        meta = dict(raw_meta or {})
        if meta.get("kind") == "body":
            by_doc.setdefault(str(meta["doc_id"]), []).append(
                (cid, text or "", int(meta["start"]), int(meta["end"]), meta)
            )
    ranked = [str(d.metadata.get("chunk_id", d.id)) for d in docs]
    numbers: dict[str, int] = {}
    spans: dict[str, tuple[int, int, str, int, dict[str, Any]]] = {}
    pieces = []
    for quote in sorted(quotes, key=lambda q: (q.doc_id, q.start)):
        start, end = quote.start, quote.end
        containing = [c for c in by_doc.get(quote.doc_id, []) if c[2] <= start and end <= c[3]]
        if not containing:
            continue
        containing.sort(key=lambda c: ranked.index(c[0]) if c[0] in ranked else len(ranked) + c[2])
        cid, ctext, cstart, _cend, cmeta = containing[0]
        n = numbers.setdefault(cid, len(numbers) + 1)
        lo, hi = spans.get(cid, (start, end, ctext, cstart, cmeta))[:2]
        spans[cid] = (min(lo, start), max(hi, end), ctext, cstart, cmeta)
        # an article's own footnote "[7]" must not read as one of our citation markers
        text = unmark(ctext[start - cstart : end - cstart])
        if (start, end) != (quote.sentence_start, quote.sentence_end):
            cut_before, cut_after = start > quote.sentence_start, end < quote.sentence_end
            text = ("… " if cut_before else "") + text + (" …" if cut_after else "")
        pieces.append(f"{text} [{n}]")
    if not pieces:
        return refuse(info, "no chunk holds the chosen sentence")
    citations = []
    for cid, n in numbers.items():
        lo, hi, ctext, cstart, meta = spans[cid]
        citations.append(citation(n, cid, meta, ctext[lo - cstart : hi - cstart]))
    body = " ".join(pieces)
    if info.language != corpus_language:
        body = frame(info.language, corpus_language) + body
    return Answer(question=info.text, text=body, refused=False, language=info.language, citations=citations)
