"""Token-aware chunks on sentence boundaries, with overlap, stable ids and offsets into the article."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Literal

from retrieval.index.articles import Article
from retrieval.index.tokens import count_tokens
from retrieval.text import Span, split_sentences

ChunkKind = Literal["body", "meta"]


@dataclass(frozen=True)
class Chunk:
    chunk_id: str
    doc_id: str
    index: int
    start: int
    end: int
    text: str
    kind: ChunkKind
    metadata: dict[str, str | int]


@dataclass(frozen=True)
class Sentence:
    sentence_id: str
    doc_id: str
    start: int
    end: int
    text: str
    metadata: dict[str, str | int]
    embedded: str  # what its vector is made of: the article's title, then the sentence


def embedded_sentence(title: str, text: str) -> str:
    """A sentence as it is embedded: after its article's title, so "It covers 180 hectares" carries what "it" is
    about (right sentence first rose 0.02-0.04 on the training sets, benchmarks/RESULTS.md)."""
    return f"{title}. {text}" if title.strip() else text


def _stable_id(*parts: object) -> str:
    payload = json.dumps(parts, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def article_sentences(article: Article) -> list[Span]:
    """Sentences of the body, paragraph by paragraph."""
    spans: list[Span] = []
    offset = 0
    for paragraph in article.text.split("\n"):
        spans.extend(split_sentences(paragraph, offset))
        offset += len(paragraph) + 1
    return spans


def metadata_text(article: Article) -> str:
    """The article's own facts (title, outlet, date, author, url) as text of its own, so they can be found."""
    lines = [f"Titel / Title: {article.title}"]
    labels = {
        "author": "Forfatter / Author",
        "publisher": "Medie / Publisher",
        "date": "Dato / Date",
        "url": "URL",
    }
    for key, label in labels.items():
        value = getattr(article, key)
        if value:
            lines.append(f"{label}: {value}")
    return "\n".join(lines)


def chunk_article(article: Article, chunk_tokens: int, overlap_tokens: int) -> list[Chunk]:
    """Pack whole sentences into chunks of about `chunk_tokens`; neighbours share `overlap_tokens`."""
    base = article.metadata()
    meta_text = metadata_text(article)
    chunks = [
        Chunk(
            chunk_id=_stable_id(article.doc_id, "meta", meta_text),
            doc_id=article.doc_id,
            index=0,
            start=0,
            end=0,
            text=meta_text,
            kind="meta",
            metadata={**base, "kind": "meta", "chunk": 0, "start": 0, "end": 0},
        )
    ]
    sentences = article_sentences(article)
    sizes = [count_tokens(s.text) for s in sentences]
    first = 0
    while first < len(sentences):
        last = first
        total = sizes[first]
        while last + 1 < len(sentences) and total + sizes[last + 1] <= chunk_tokens:
            last += 1
            total += sizes[last]
        start, end = sentences[first].start, sentences[last].end
        text = article.text[start:end]
        index = len(chunks)
        chunks.append(
            Chunk(
                chunk_id=_stable_id(article.doc_id, base, index, start, text),
                doc_id=article.doc_id,
                index=index,
                start=start,
                end=end,
                text=text,
                kind="body",
                metadata={
                    **base,
                    "kind": "body",
                    "chunk": index,
                    "start": start,
                    "end": end,
                    **_page(article, start, end),
                },
            )
        )
        if last + 1 >= len(sentences):
            break
        # Step back over whole sentences until about `overlap_tokens` are shared, but always move forward.
        next_first = last + 1
        shared = 0
        while (
            next_first - 1 > first and shared < overlap_tokens and sizes[next_first - 1] <= chunk_tokens // 2
        ):
            next_first -= 1
            shared += sizes[next_first]
        first = next_first
    return chunks


def sentence_records(article: Article) -> list[Sentence]:
    """Each body sentence on its own, indexed so the answerer can find the single best sentence."""
    base = article.metadata()
    records = []
    for span in article_sentences(article):
        if span.text.strip() in article.headings:  # a crosshead is not an answer; its paragraph says it whole
            continue
        embedded = embedded_sentence(article.title, span.text)
        records.append(
            Sentence(
                # the id names what is embedded, so a sentence embedded alone (an older index) is embedded again
                sentence_id=_stable_id(article.doc_id, base, "s", span.start, embedded),
                doc_id=article.doc_id,
                start=span.start,
                end=span.end,
                text=span.text,
                embedded=embedded,
                metadata={
                    **base,
                    "kind": "sentence",
                    "start": span.start,
                    "end": span.end,
                    **_page(article, span.start, span.end),
                },
            )
        )
    return records


def _page(article: Article, start: int, end: int) -> dict[str, str]:
    """For text of a PDF: {"page": "3"}, or for text over a page break {"page": "3-4", "page_breaks": "212:4"}
    (where in the text each later page starts), so a citation can name the page of its quote
    (`retrieval.types.quote_page`); for other articles nothing."""
    if not article.pages:
        return {}
    first, last = article.page_at(start), article.page_at(max(start, end - 1))
    if first is None:
        return {}
    if last in (None, first):
        return {"page": str(first)}
    breaks = ",".join(f"{offset - start}:{page}" for offset, page in article.pages if start < offset < end)
    return {"page": f"{first}-{last}", "page_breaks": breaks}
