from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

# Before the product is imported (its lemma tables are opened at import): tests keep their caches to themselves,
# never in the developer's ~/.cache/kilde.
_CACHE = tempfile.mkdtemp(prefix="kilde-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE
atexit.register(shutil.rmtree, _CACHE, ignore_errors=True)

import pytest  # noqa: E402

from retrieval.index.embeddings import make_embeddings  # noqa: E402
from retrieval.index.ingest import ingest  # noqa: E402
from retrieval.service import Service, build_service  # noqa: E402
from retrieval.settings import PROJECT_ROOT, Settings  # noqa: E402

CORPUS = PROJECT_ROOT / "corpus"


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's own KILDE_* settings."""
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
