"""The copy of the index that local questions are answered from: the same rows and rankings as Chroma, used only
while it is current."""

from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np

from retrieval.index import snapshot
from retrieval.index.embeddings import FakeEmbeddings
from retrieval.index.ingest import ingest
from retrieval.index.snapshot import SnapshotIndex
from retrieval.index.store import Index, open_client
from retrieval.service import open_read_index
from retrieval.settings import PROJECT_ROOT, Settings


def test_snapshot_reads_what_chroma_holds(fake_settings: Settings) -> None:
    embeddings = FakeEmbeddings()
    ingest(fake_settings, [fake_settings.corpus_dir], embeddings)
    copy = SnapshotIndex.load(fake_settings.data_dir, fake_settings.collection, fake_settings.embedder_id)
    assert copy is not None
    chroma = Index(open_client(fake_settings), embeddings, fake_settings.collection, fake_settings.embedder_id)
    assert copy.fingerprint() == chroma.fingerprint()
    assert copy.all_chunks() == chroma.all_chunks()
    assert copy.document_metadatas() == chroma.document_metadatas()
    doc_ids = sorted(str(m["doc_id"]) for m in copy.document_metadatas())
    for docs in [*([d] for d in doc_ids), doc_ids[::-1]]:
        ours, theirs = copy.doc_parts(docs), chroma.doc_parts(docs)
        for mine, chromas in zip(ours, theirs, strict=True):
            assert {k: mine[k] for k in ("ids", "documents", "metadatas")} == {
                k: chromas[k] for k in ("ids", "documents", "metadatas")
            }
        assert np.array_equal(ours[1]["embeddings"], np.asarray(theirs[1]["embeddings"], dtype=np.float32))
    some = [*copy.chunk_ids[:3], "no-such-chunk"]
    assert copy.chunks_by_id(some) == chroma.chunks_by_id(some)
    for question in ("Hvem er Troels Lund Poulsen?", "jobcenter regler", "What is this about?"):
        vector = embeddings.embed_query(question)
        mine, chromas = copy.dense_chunks(vector, 10), chroma.dense_chunks(vector, 10)
        assert [row[:3] for row in mine] == [row[:3] for row in chromas]
        assert np.allclose([row[3] for row in mine], [row[3] for row in chromas], atol=1e-5)


def test_chroma_answers_when_the_copy_is_missing_or_damaged(fake_settings: Settings) -> None:
    embeddings = FakeEmbeddings()
    ingest(fake_settings, [fake_settings.corpus_dir], embeddings)
    assert isinstance(open_read_index(fake_settings, embeddings), SnapshotIndex)
    named = snapshot.current(fake_settings.data_dir)
    assert named is not None
    folder = snapshot.snapshot_root(fake_settings.data_dir, fake_settings.collection) / named["dir"]
    (folder / snapshot.META_FILE).write_text("{not json")
    assert isinstance(open_read_index(fake_settings, embeddings), Index)
    ingest(fake_settings, [fake_settings.corpus_dir], embeddings)  # unchanged articles, but a new copy
    assert isinstance(open_read_index(fake_settings, embeddings), SnapshotIndex)
    assert folder.exists()  # the copy current until now is kept, for a question that may be opening it
    ingest(fake_settings, [fake_settings.corpus_dir], embeddings)
    assert not folder.exists()  # and removed by the ingest after
    shutil.rmtree(snapshot.snapshot_root(fake_settings.data_dir, fake_settings.collection))
    assert isinstance(open_read_index(fake_settings, embeddings), Index)
    other = fake_settings.replace(**{"embedder": "another"})
    assert SnapshotIndex.load(other.data_dir, other.collection, other.embedder_id) is None


def test_a_local_question_does_not_load_chromadb(fake_settings: Settings) -> None:
    ingest(fake_settings, [fake_settings.corpus_dir], FakeEmbeddings())
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from retrieval.service import build_service\n"
        "from retrieval.settings import Settings\n"
        f"service = build_service(Settings(data_dir=Path({str(fake_settings.data_dir)!r}), embedder='fake'))\n"
        "service.answer('Hvem er Troels Lund Poulsen?')\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('chromadb', 'langchain_chroma')))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"
