from itertools import pairwise
from pathlib import Path

from retrieval.index.articles import load_articles
from retrieval.index.chunks import chunk_article, sentence_records
from retrieval.index.tokens import count_tokens, get_encoding
from tests.conftest import CORPUS


def test_tiktoken_works_offline() -> None:
    assert get_encoding().encode("hello world") == [15339, 1917]


def test_chunks_respect_the_token_budget_and_offsets() -> None:
    articles, problems = load_articles([CORPUS])
    assert not problems and len(articles) == 5
    for article in articles:
        chunks = chunk_article(article, 120, 30)
        assert chunks[0].kind == "meta"
        body = [c for c in chunks if c.kind == "body"]
        assert body, article.doc_id
        for chunk in body:
            assert article.text[chunk.start : chunk.end] == chunk.text
            # A single over-long sentence may exceed the budget; packed chunks never do.
            assert count_tokens(chunk.text) <= 120 or "." not in chunk.text.rstrip(".")[:-1]
        # Neighbours overlap or touch, so together they cover the whole body.
        for a, b in pairwise(body):
            assert b.start <= a.end or not article.text[a.end : b.start].strip()
        assert sum(b.start < a.end for a, b in pairwise(body)) >= (len(body) - 1) // 2
        assert body[0].start == 0 and body[-1].end == len(article.text.rstrip())


def test_chunk_ids_are_stable_and_content_derived(tmp_path: Path) -> None:
    articles, _ = load_articles([CORPUS])
    first = [c.chunk_id for a in articles for c in chunk_article(a, 160, 40)]
    again = [c.chunk_id for a in load_articles([CORPUS])[0] for c in chunk_article(a, 160, 40)]
    assert first == again
    assert len(set(first)) == len(first)
    smaller = [c.chunk_id for a in articles for c in chunk_article(a, 100, 20)]
    assert set(first) != set(smaller)


def test_sentences_point_into_the_article() -> None:
    article = load_articles([CORPUS])[0][0]
    for sentence in sentence_records(article):
        assert article.text[sentence.start : sentence.end] == sentence.text


def test_a_crosshead_is_read_with_its_chunk_but_never_quoted_as_a_sentence(tmp_path: Path) -> None:
    (tmp_path / "a.md").write_text(
        "# Havnen får 40 mio. kr.\n\nByrådet har vedtaget budgettet.\n\n## Naturen skal med\n\n"
        "Det nye dige bliver 12 kilometer langt.\n",
        encoding="utf-8",
    )
    [article], _ = load_articles([tmp_path])
    said = [s.text for s in sentence_records(article)]
    assert "Naturen skal med" not in said
    assert "Havnen får 40 mio. kr." in said  # the title is the article's own claim
    assert "Det nye dige bliver 12 kilometer langt." in said
    assert any("Naturen skal med" in c.text for c in chunk_article(article, 160, 40) if c.kind == "body")


def test_a_sentence_is_embedded_after_its_articles_title_and_its_id_names_that() -> None:
    from pathlib import Path

    from retrieval.index.articles import Article
    from retrieval.index.chunks import _stable_id, sentence_records

    def first(title: str) -> tuple[str, str, str]:
        article = Article(doc_id="a", path=Path("a.md"), title=title, text="It covers 180 hectares.")
        record = sentence_records(article)[0]
        embedded_alone = _stable_id("a", article.metadata(), "s", record.start, record.text)  # the older id
        return record.embedded, record.sentence_id, embedded_alone

    embedded, new_id, old_id = first("Aldwater Reservoir")
    assert embedded == "Aldwater Reservoir. It covers 180 hectares."
    assert new_id != old_id  # an index whose sentences were embedded alone embeds them again
    assert first("")[0] == "It covers 180 hectares."
