"""How an extractive answer is written: article text quoted as text (nothing in it reads as one of our citation
markers), framed in the question's language when the article quoted is in another."""

from __future__ import annotations

from typing import Any

from langchain_core.documents import Document

from retrieval.answering.question import analyse
from retrieval.answering.replies import Quote, compose


def _one_chunk(body: str) -> tuple[dict[str, Any], Document]:
    """An article of one body chunk, as `compose` reads it: the chunk table and the retrieved document."""
    chunks = {
        "ids": ["c1"],
        "documents": [body],
        "metadatas": [{"doc_id": "d", "kind": "body", "start": 0, "end": len(body)}],
    }
    return chunks, Document(body, id="c1", metadata={"doc_id": "d", "chunk_id": "c1", "title": "T"})


def test_an_articles_footnote_is_not_shown_as_a_citation_marker() -> None:
    chunks, doc = _one_chunk("Apple sold it.[3] It sold well.")
    answer = compose(analyse("Who sold it?"), [Quote("d", 0, 17, 0, 17, "en")], chunks, [doc])
    assert answer.text == "Apple sold it.(3) [1]"
    assert answer.citations[0].quote.startswith("Apple sold it.[3]")  # the passage itself stays as written


def test_a_quote_in_another_language_is_framed_in_the_questions_language_naming_the_articles() -> None:
    chunks, doc = _one_chunk("Apple sold it. It sold well.")
    english = [Quote("d", 0, 14, 0, 14, "en")]
    danish = [Quote("d", 0, 14, 0, 14, "da")]
    assert compose(analyse("Hvem solgte den?"), english, chunks, [doc]).text == (
        "Artiklerne siger (på engelsk): Apple sold it. [1]"
    )
    assert compose(analyse("Who sold it?"), danish, chunks, [doc]).text == (
        "The articles say (in Danish): Apple sold it. [1]"
    )
    assert compose(analyse("Who sold it?"), english, chunks, [doc]).text == "Apple sold it. [1]"
