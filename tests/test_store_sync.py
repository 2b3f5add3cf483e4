"""Re-indexing at scale: unchanged articles are skipped unread, and anything untrustworthy is compared in full."""

from __future__ import annotations

from typing import Any

import pytest

from retrieval.index import chunks as chunker
from retrieval.index import lexical, store
from retrieval.index.articles import load_articles
from retrieval.index.chunks import chunk_article, sentence_records
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.index.ingest import ingest
from retrieval.index.lexical import LexicalIndex, lexical_key, lexical_path
from retrieval.service import build_service, open_index
from retrieval.settings import Settings


class CountingEmbeddings(FakeEmbeddings):
    texts: int = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.texts += len(texts)
        return super().embed_documents(texts)


def run(settings: Settings) -> tuple[store.IngestReport, CountingEmbeddings]:
    emb = CountingEmbeddings()
    return ingest(settings, [settings.corpus_dir], emb), emb


def expected(settings: Settings) -> tuple[set[str], set[str]]:
    articles, _ = load_articles([settings.corpus_dir])
    return (
        {
            c.chunk_id
            for a in articles
            for c in chunk_article(a, settings.chunk_tokens, settings.chunk_overlap_tokens)
        },
        {s.sentence_id for a in articles for s in sentence_records(a)},
    )


def assert_exact(settings: Settings) -> None:
    index = open_index(settings, FakeEmbeddings())
    chunks, sentences = expected(settings)
    assert sorted(index.chunks.get(include=[])["ids"]) == sorted(chunks)
    assert sorted(index.sentences.get(include=[])["ids"]) == sorted(sentences)
    states = index.doc_states()
    assert index._consistent(states)


def test_unchanged_articles_are_not_even_chunked(
    fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(fake_settings)

    def boom(*_: Any) -> None:
        raise AssertionError("chunked an unchanged article")

    monkeypatch.setattr(chunker, "chunk_article", boom)
    report, emb = run(fake_settings)
    assert len(report.skipped) == 5 and not report.changed and emb.texts == 0


def test_an_index_from_before_doc_records_is_compared_once(fake_settings: Settings) -> None:
    run(fake_settings)
    index = open_index(fake_settings, FakeEmbeddings())
    metas = index.chunks.get(where={"kind": "meta"}, include=["metadatas"])
    index.chunk_rows.update(
        ids=metas["ids"],
        metadatas=[{**(m or {}), "doc_hash": "", "doc_chunks": -1} for m in metas["metadatas"]],
    )
    assert not index._consistent(index.doc_states())
    report, emb = run(fake_settings)
    assert emb.texts == 0 and len(report.skipped) == 5 and not report.changed
    assert_exact(fake_settings)


def test_a_new_chunker_recompares_without_re_embedding(
    fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(fake_settings)
    monkeypatch.setattr(store, "chunker_fingerprint", lambda: "another chunker")
    calls: list[str] = []
    monkeypatch.setattr(
        chunker, "chunk_article", lambda a, *args: calls.append(a.doc_id) or chunk_article(a, *args)
    )
    report, emb = run(fake_settings)
    assert len(calls) == 5  # every article compared
    assert emb.texts == 0 and len(report.skipped) == 5
    calls.clear()
    run(fake_settings)
    assert calls == []  # and recorded: the next run skips them unread


def test_stray_rows_are_found_and_removed(fake_settings: Settings) -> None:
    run(fake_settings)
    index = open_index(fake_settings, FakeEmbeddings())
    # Rows a crashed or foreign writer left: one for an article that is gone, one extra for a live article.
    index.chunks.add_texts(["spøgelse"], [{"doc_id": "ghost", "kind": "body"}], ids=["ghost-1"])
    index.sentences.add_texts(
        ["ekstra"], [{"doc_id": "kim-them-serup-vordingborg", "kind": "sentence"}], ids=["extra-1"]
    )
    report, emb = run(fake_settings)
    assert report.deleted == ["ghost"]
    assert report.updated == ["kim-them-serup-vordingborg"]
    assert emb.texts == 0
    assert_exact(fake_settings)


def test_an_interrupted_sync_is_mended_by_the_next(
    fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    run(fake_settings)
    path = fake_settings.corpus_dir / "velfaerdskommuner-hk-kommunal.md"
    path.write_text(path.read_text().replace("HK Kommunal", "HK Stat"))

    def crash(*_: Any) -> None:
        raise RuntimeError("killed")

    monkeypatch.setattr(store._Writer, "delete", crash)  # new rows written, old ones not yet removed
    with pytest.raises(RuntimeError, match="killed"):
        run(fake_settings)
    monkeypatch.undo()
    report, _ = run(fake_settings)
    assert report.updated == ["velfaerdskommuner-hk-kommunal"] and report.chunks_deleted > 0
    assert_exact(fake_settings)


def test_articles_are_written_in_groups_with_progress(
    fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(store, "GROUP_DOCS", 2)
    seen: list[tuple[int, int]] = []
    ingest(fake_settings, [fake_settings.corpus_dir], FakeEmbeddings(), lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] > 0
    assert all(d <= t for d, t in seen)
    assert_exact(fake_settings)


def test_ingest_leaves_a_current_bm25_index(fake_settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    run(fake_settings)
    index = open_index(fake_settings, FakeEmbeddings())
    path = lexical_path(fake_settings.data_dir, fake_settings.collection)
    assert lexical.saved_key(path) == lexical_key(index.fingerprint())

    # One edited article: only its new chunks are read back and stemmed.
    article = fake_settings.corpus_dir / "velfaerdskommuner-hk-kommunal.md"
    article.write_text(article.read_text() + "\nEt nyt afsnit om noget helt nyt.\n")
    asked: list[int] = []
    real_texts = store.Index.chunk_texts
    monkeypatch.setattr(
        store.Index, "chunk_texts", lambda self, ids: asked.append(len(ids)) or real_texts(self, ids)
    )
    report, _ = run(fake_settings)
    assert asked == [report.chunks_added] and 0 < report.chunks_added < 5
    assert lexical.saved_key(path) == lexical_key(index.fingerprint())

    # The service loads it instead of building one.
    def no_build(*_: Any) -> None:
        raise AssertionError("rebuilt BM25")

    monkeypatch.setattr(LexicalIndex, "build", no_build)
    monkeypatch.setattr(LexicalIndex, "update", no_build)
    service = build_service(fake_settings, FakeEmbeddings())
    assert "helt nyt" in (service.chunk_text(service.lexical.search("helt nyt afsnit", 1)[0][0]) or "")


def test_incremental_bm25_matches_a_fresh_build(fake_settings: Settings) -> None:
    run(fake_settings)
    article = fake_settings.corpus_dir / "kim-them-serup-vordingborg.md"
    article.write_text(article.read_text().replace("Dansk Metal", "Dansk Jern"))
    run(fake_settings)
    index = open_index(fake_settings, FakeEmbeddings())
    saved = LexicalIndex.load(lexical_path(fake_settings.data_dir, fake_settings.collection), None)
    assert saved is not None and saved.terms is not None
    ids, texts, _ = index.all_chunks()
    fresh = LexicalIndex.build(ids, texts)
    updated = lexical.for_index(index, lexical_path(fake_settings.data_dir, fake_settings.collection))
    assert updated.doc_freq == fresh.doc_freq
    for question in ("Dansk Jern arbejdsmarkedschef", "Vordingborg kommune", "HK Kommunal næstformand"):
        assert [c for c, _ in updated.search(question, 10)] == [c for c, _ in fresh.search(question, 10)]


def test_the_vectorised_bm25_is_bm25s_own(fake_settings: Settings) -> None:
    import bm25s

    from retrieval.index.lexical import EMPTY, terms

    articles, _ = load_articles([fake_settings.corpus_dir])
    chunks = [c for a in articles for c in chunk_article(a, 160, 40)]
    ids, texts = [c.chunk_id for c in chunks], [c.text for c in chunks]
    ours = LexicalIndex.build(ids, texts)
    theirs = bm25s.BM25()
    theirs.index([terms(t) or [EMPTY] for t in texts], show_progress=False)
    for question in (
        "Hvem er næstformand i HK Kommunal?",
        "SATS-puljemidler kommuner Flere Skal Med",
        "benchmarking",
    ):
        tokens = [t for t in terms(question) if t in ours.doc_freq]
        ours_docs, ours_scores = ours._bm25.retrieve([tokens], k=20, show_progress=False)  # type: ignore[union-attr]
        their_docs, their_scores = theirs.retrieve([tokens], k=20, show_progress=False)
        assert ours_docs.tolist() == their_docs.tolist()
        assert ours_scores[0].tolist() == pytest.approx(their_scores[0].tolist(), rel=1e-6)
