from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from retrieval.index.embeddings import make_embeddings
from retrieval.index.ingest import ingest
from retrieval.service import Service, build_service
from retrieval.settings import PROJECT_ROOT, Settings

CORPUS = PROJECT_ROOT / "corpus"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's own KILDE_* settings."""
    import os

    for key in list(os.environ):
        if key.startswith("KILDE_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("ANONYMIZED_TELEMETRY", "False")


@pytest.fixture
def corpus_copy(tmp_path: Path) -> Path:
    target = tmp_path / "corpus"
    shutil.copytree(CORPUS, target)
    return target


@pytest.fixture
def fake_settings(tmp_path: Path, corpus_copy: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", corpus_dir=corpus_copy, embedder="fake")


@pytest.fixture(scope="session")
def real_data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The bundled corpus indexed once per session with the real offline embedder."""
    data = tmp_path_factory.mktemp("real-index")
    settings = Settings(data_dir=data, corpus_dir=CORPUS)
    report = ingest(settings, [CORPUS], make_embeddings(settings.embedder, settings.embed_threads))
    assert not report.problems
    return data


@pytest.fixture(scope="session")
def real_service(real_data_dir: Path) -> Iterator[Service]:
    yield build_service(Settings(data_dir=real_data_dir, corpus_dir=CORPUS))


@pytest.fixture(scope="session")
def fitted_service(real_data_dir: Path) -> Iterator[Service]:
    """The same index answered by the fitted answerer (`KILDE_ANSWERER=fitted`)."""
    yield build_service(Settings(data_dir=real_data_dir, corpus_dir=CORPUS, answerer="fitted"))


@pytest.fixture(scope="session")
def hybrid_service(real_data_dir: Path) -> Iterator[Service]:
    """The same index answered by the hybrid (`KILDE_ANSWERER=hybrid`): fitted ranker, rules' refusal gates."""
    yield build_service(Settings(data_dir=real_data_dir, corpus_dir=CORPUS, answerer="hybrid"))
