from pathlib import Path

import pytest

from retrieval.errors import StoreError
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.index.ingest import ingest
from retrieval.index.store import write_lock
from retrieval.service import open_index
from retrieval.settings import Settings


class CountingEmbeddings(FakeEmbeddings):
    calls: int = 0
    texts: int = 0

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        self.calls += 1
        self.texts += len(texts)
        return super().embed_documents(texts)


def run(settings: Settings, emb: CountingEmbeddings | None = None) -> tuple[object, CountingEmbeddings]:
    emb = emb or CountingEmbeddings()
    return ingest(settings, [settings.corpus_dir], emb), emb


def test_first_ingest_adds_every_article(fake_settings: Settings) -> None:
    report, emb = run(fake_settings)
    assert sorted(report.added) == sorted(p.stem for p in fake_settings.corpus_dir.glob("*.md"))  # type: ignore[attr-defined]
    assert emb.texts > 0


def test_second_ingest_embeds_nothing(fake_settings: Settings) -> None:
    run(fake_settings)
    report, emb = run(fake_settings)
    assert emb.texts == 0
    assert len(report.skipped) == 5 and not report.changed  # type: ignore[attr-defined]


def test_editing_one_article_replaces_only_its_chunks(fake_settings: Settings) -> None:
    run(fake_settings)
    index = open_index(fake_settings, FakeEmbeddings())
    before = index.ids_by_doc(index.chunks)
    path = fake_settings.corpus_dir / "velfaerdskommuner-hk-kommunal.md"
    path.write_text(path.read_text() + "\nEt nyt afsnit om noget helt nyt.\n")
    report, emb = run(fake_settings)
    assert report.updated == ["velfaerdskommuner-hk-kommunal"]  # type: ignore[attr-defined]
    assert len(report.skipped) == 4  # type: ignore[attr-defined]
    after = index.ids_by_doc(index.chunks)
    for doc in before:
        if doc != "velfaerdskommuner-hk-kommunal":
            assert before[doc] == after[doc]
    assert before["velfaerdskommuner-hk-kommunal"] != after["velfaerdskommuner-hk-kommunal"]
    texts = index.chunks.get(where={"doc_id": "velfaerdskommuner-hk-kommunal"}, include=["documents"])[
        "documents"
    ]
    assert any("helt nyt" in t for t in texts)
    assert emb.texts < 30


def test_deleting_an_article_removes_its_chunks(fake_settings: Settings) -> None:
    run(fake_settings)
    (fake_settings.corpus_dir / "kim-them-serup-vordingborg.md").unlink()
    report, _ = run(fake_settings)
    assert report.deleted == ["kim-them-serup-vordingborg"]  # type: ignore[attr-defined]
    index = open_index(fake_settings, FakeEmbeddings())
    assert "kim-them-serup-vordingborg" not in index.ids_by_doc(index.chunks)
    assert "kim-them-serup-vordingborg" not in index.ids_by_doc(index.sentences)


def test_a_broken_file_is_reported_and_loses_nothing(fake_settings: Settings) -> None:
    run(fake_settings)
    index = open_index(fake_settings, FakeEmbeddings())
    before = index.ids_by_doc(index.chunks)["kim-them-serup-vordingborg"]
    (fake_settings.corpus_dir / "kim-them-serup-vordingborg.md").write_bytes(b"\xff\xfebroken latin-1 \xe6")
    (fake_settings.corpus_dir / "new.md").write_text("---\ntitle: Ny\n---\nEn ny artikel.")
    report, _ = run(fake_settings)
    assert [p.path.name for p in report.problems] == ["kim-them-serup-vordingborg.md"]  # type: ignore[attr-defined]
    assert report.added == ["new"]  # type: ignore[attr-defined]
    assert index.ids_by_doc(index.chunks)["kim-them-serup-vordingborg"] == before


def test_a_corrupt_index_is_one_clear_error(fake_settings: Settings) -> None:
    run(fake_settings)
    (fake_settings.chroma_dir / "chroma.sqlite3").write_bytes(b"this is not a database" * 100)
    with pytest.raises(StoreError, match="corrupt"):
        run(fake_settings)


def test_a_locked_index_is_one_clear_error(fake_settings: Settings) -> None:
    with (
        write_lock(fake_settings.data_dir),
        pytest.raises(StoreError, match="locked"),
        write_lock(fake_settings.data_dir, timeout=0.3),
    ):
        pass


def test_a_read_only_data_dir_is_one_clear_error(
    fake_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    run(fake_settings)
    real_access = os.access
    # chmod does not bind root (CI runs as root), so the permission check itself is what we pin.
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if Path(p) == fake_settings.data_dir else real_access(p, mode)
    )
    with pytest.raises(StoreError, match="read-only"):
        run(fake_settings)


def test_a_missing_data_dir_parent_is_one_clear_error(tmp_path: Path, corpus_copy: Path) -> None:
    settings = Settings(data_dir=tmp_path / "no" / "such" / "dir", corpus_dir=corpus_copy, embedder="fake")
    with pytest.raises(StoreError, match="does not exist"):
        open_index(settings, FakeEmbeddings())


def test_switching_embedder_rebuilds(fake_settings: Settings) -> None:
    run(fake_settings)
    other = fake_settings.replace(embedder="fake2")

    index = open_index(other, FakeEmbeddings())
    assert index._embedder_mismatch()


