"""Fusing dense and BM25 rankings over articles in two languages: words only find the question's language."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from retrieval.index.lexical import LexicalIndex, rrf
from retrieval.index.search import HybridSearch

DANISH = {
    "da1": "Kommunen har købt en ny bygning til skolen, og byrådet stemte for købet i går aftes.",
    "da2": "Skolen får nye lærere næste år, siger kommunens direktør til avisen.",
    "da3": "Byrådet mødes igen i næste måned for at tale om budgettet for skolen.",
}
ENGLISH = {
    "en1": "The students' union said 2,300 students answered its survey about rents this spring.",
    "en2": "The university apologised to students who had to live in hotels because of the housing shortage.",
}


@dataclass
class DenseOnly:
    """A read index whose dense ranking is given: the question's vector is ignored."""

    order: list[str]
    texts: dict[str, str]
    calls: list[Any] = field(default_factory=list)

    def dense_chunks(self, vector: list[float], k: int) -> list[tuple[str, str, dict[str, Any], float]]:
        return [
            (cid, self.texts[cid], {"doc_id": cid, "kind": "body"}, 0.9 - 0.01 * i)
            for i, cid in enumerate(self.order[:k])
        ]

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        return {cid: (self.texts[cid], {"doc_id": cid, "kind": "body"}) for cid in ids}


def search(order: list[str], texts: dict[str, str], question: str) -> list[str]:
    lexical = LexicalIndex.build(list(texts), list(texts.values()))
    hybrid = HybridSearch(DenseOnly(order, texts), lexical, k=3)  # type: ignore[arg-type]
    return [str(d.metadata["chunk_id"]) for d in hybrid.search(question, [0.0])]


def test_an_article_in_the_other_language_is_not_buried_by_chunks_that_share_a_word() -> None:
    texts = {**DANISH, **ENGLISH}
    # The English article means what is asked (dense first); the Danish chunks only share "skolen" with it.
    order = ["en1", "da1", "da2", "en2", "da3"]
    found = search(order, texts, "Hvor mange studerende svarede på undersøgelsen om skolen?")
    assert found[0] == "en1"


def test_over_articles_in_one_language_the_fusion_is_plain_reciprocal_rank_fusion() -> None:
    # An English question over Danish articles: BM25's matches (names, shared words) count alike for every chunk.
    order = ["da2", "da3", "da1"]
    question = "Which building did the municipality buy for skolen, according to byrådet?"
    lexical = LexicalIndex.build(list(DANISH), list(DANISH.values()))
    expected = [cid for cid, _ in rrf([order, [cid for cid, _ in lexical.search(question, 30)]])]
    assert search(order, DANISH, question) == expected
