"""The Indexer decides when to index and says so in notes; the front end only prints them."""

from __future__ import annotations

from pathlib import Path

import pytest

from retrieval.errors import KildeError, StoreError
from retrieval.indexer import Indexer, IngestReport
from retrieval.settings import Settings


def settings_for(tmp_path: Path) -> Settings:
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "a.md").write_text("# A\n\nEn artikel.\n", encoding="utf-8")
    return Settings(data_dir=tmp_path / "data", corpus_dir=corpus, embedder="fake")


def ensure(settings: Settings) -> tuple[list[str], list[list[Path]]]:
    """The notes `Indexer.ensure` gives, and the paths it asked to ingest (nothing is indexed)."""
    notes: list[str] = []
    asked: list[list[Path]] = []

    def ingest(paths: list[Path]) -> IngestReport:
        asked.append(paths)
        return IngestReport()

    Indexer(settings).ensure(notes.append, ingest)
    return notes, asked


def test_a_new_index_is_built_from_the_corpus_with_one_note(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    notes, asked = ensure(settings)
    assert asked == [[settings.corpus_dir]]
    assert notes == [f"indexing {settings.corpus_dir} for the first time …"]


def test_a_missing_corpus_directory_is_one_error(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=tmp_path / "nowhere")
    with pytest.raises(KildeError, match="does not exist"):
        Indexer(settings).ensure(print, lambda paths: IngestReport())


def test_a_failed_update_keeps_answering_from_the_old_index(tmp_path: Path) -> None:
    settings = settings_for(tmp_path)
    Indexer(settings).ingest([settings.corpus_dir])
    (settings.corpus_dir / "b.md").write_text("# B\n\nEn til.\n", encoding="utf-8")
    notes: list[str] = []

    def full_disk(paths: list[Path]) -> IngestReport:
        raise StoreError("cannot write the index: disk full")

    Indexer(settings).ensure(notes.append, full_disk)
    assert notes[-1] == "cannot write the index: disk full; answering from the last complete index"


def test_an_index_made_by_another_version_is_updated_and_says_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from retrieval.index import ingest as ingest_module

    settings = settings_for(tmp_path)
    Indexer(settings).ingest([settings.corpus_dir])
    monkeypatch.setattr(ingest_module, "chunker_fingerprint", lambda: "another version's chunker")
    notes, asked = ensure(settings)
    assert asked == [[settings.corpus_dir]]
    assert notes == ["the index was made by another version of kilde; updating it …"]
