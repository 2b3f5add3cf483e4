"""KILDE_CHUNK_VECTORS=sentences: a chunk's vector is made of its sentences' vectors, and no chunk text is embedded."""

from __future__ import annotations

import numpy as np

from retrieval.index.articles import load_articles
from retrieval.index.chunks import chunk_article, embedded_sentence, sentence_records
from retrieval.index.ingest import ingest
from retrieval.index.snapshot import SnapshotIndex
from retrieval.settings import Settings


class Recording:
    """Deterministic vectors from the text's hash, recording every text it is asked to embed."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.seen += texts
        return [self.vector(t) for t in texts]

    def embed_query(self, text: str) -> list[float]:
        return self.vector(text)

    @staticmethod
    def vector(text: str) -> list[float]:
        rng = np.random.default_rng(abs(hash(text)) % 2**32)
        v = rng.normal(size=16)
        return list(v / np.linalg.norm(v))


def test_chunk_vectors_are_the_length_weighted_mean_of_their_sentences(fake_settings: Settings) -> None:
    settings = fake_settings.replace(chunk_vectors="sentences")
    embedder = Recording()
    report = ingest(settings, [settings.corpus_dir], embedder)
    articles, _ = load_articles([settings.corpus_dir])
    bodies = {c.text for a in articles for c in chunk_article(a, 160, 40) if c.kind == "body"}
    sentences = {s.embedded for a in articles for s in sentence_records(a)}
    assert not bodies & (set(embedder.seen) - sentences)  # no chunk embedded as a whole
    assert len(embedder.seen) == len(set(embedder.seen)) == report.texts_embedded

    copy = SnapshotIndex.load(settings.data_dir, settings.collection, settings.embedder_id)
    assert copy is not None
    checked = 0
    for i, meta in enumerate(copy.chunk_metas):
        if meta["kind"] != "body":
            continue
        own = [  # each sentence as embedded: after its article's title
            embedded_sentence(str(m["title"]), t)
            for t, m in zip(copy.sentence_texts, copy.sentence_metas, strict=True)
            if m["doc_id"] == meta["doc_id"] and meta["start"] <= m["start"] and m["end"] <= meta["end"]
        ]
        mean = sum(len(t) * np.asarray(Recording.vector(t)) for t in own)
        expected = mean / np.linalg.norm(mean)
        assert np.allclose(copy.unit_vectors[i], expected, atol=1e-5)
        checked += 1
    assert checked == len(bodies)


def test_switching_the_way_rebuilds_the_index_without_embedding_again(fake_settings: Settings) -> None:
    cached = fake_settings.replace(chunk_vectors="embedded")
    from retrieval.service import build_embeddings

    first = ingest(cached, [cached.corpus_dir], build_embeddings(cached))
    switched = cached.replace(chunk_vectors="sentences")
    again = ingest(switched, [switched.corpus_dir], build_embeddings(switched))
    assert first.added and again.rebuilt and len(again.added) == len(first.added)
