"""The Chroma index: one collection of chunks, one of single sentences, kept in sync with the articles."""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import functools
import hashlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, cast

import numpy as np

from retrieval.errors import StoreError
from retrieval.index.articles import Article, Problem
from retrieval.index.datadir import READ_ONLY, REBUILD, data_dir_errors, hint, is_writable
from retrieval.index.languages import LanguageShift, chunk_languages, docs_of, language_of_doc
from retrieval.secrets import protect, redact
from retrieval.settings import Settings, default_data_dir

if TYPE_CHECKING:
    # chromadb and langchain_chroma take most of a second to import: only the code that opens Chroma loads them,
    # so `kilde ask` answered from the snapshot (`retrieval.index.snapshot`) never does.
    from chromadb import Collection
    from chromadb.api import ClientAPI
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.embeddings import Embeddings

    from retrieval.index.chunks import Chunk, Sentence
    from retrieval.index.embeddings import Embedder

LOG = logging.getLogger(__name__)
Progress = Callable[[int, int], None]  # (texts done, texts in all)
ChunkVectors = Literal["embedded", "sentences"]
BATCH = 64  # texts embedded and written per call
PAGE = 5000  # rows read or deleted per call
GROUP_DOCS = 200  # articles chunked and diffed together; memory scales with this, not the corpus
SHIFTS_KEY = "language_shift"  # in the chunk collection's metadata: a server index's shifts, as JSON


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    chunks_added: int = 0
    sentences_added: int = 0
    texts_embedded: int = 0  # by the embedder; the other vectors came from the cache or from sentences
    chunks_deleted: int = 0
    problems: list[Problem] = field(default_factory=list)
    rebuilt: bool = False
    unsupported: list[Path] = field(default_factory=list)  # files in a folder that are not read as articles
    recovered: str = ""  # what became of an interrupted update this one found (see `ingest.interrupted_line`)
    seconds: float = 0.0  # the sync
    lexical_seconds: float = 0.0  # bringing the saved BM25 index up to date afterwards
    latent_seconds: float = 0.0  # making the new sentences' latent terms (`retrieval.service.ingest_articles`)

    @property
    def changed(self) -> bool:
        return bool(self.added or self.updated or self.deleted)

    def summary(self) -> str:
        """In the progress bar's units: articles, and texts embedded (with their rate)."""
        rate = (
            f", {self.texts_embedded / self.seconds:.1f} texts/s"
            if self.texts_embedded and self.seconds
            else ""
        )
        return (
            f"articles: {len(self.added)} added, {len(self.updated)} updated, {len(self.deleted)} deleted, "
            f"{len(self.skipped)} unchanged; {self.texts_embedded} texts embedded "
            f"({self.chunks_added} chunks and {self.sentences_added} sentences written, {self.chunks_deleted} chunks "
            f"removed{', index rebuilt for a new embedder' if self.rebuilt else ''}) in {self.seconds:.1f} s{rate}"
            + (f"; latent terms in {self.latent_seconds:.1f} s" if self.latent_seconds >= 0.05 else "")
        )

    def unsupported_lines(self) -> list[str]:
        """One line per kind of file that was skipped without being read (`.pdf`, `.html`, no suffix, ...)."""
        by_kind: dict[str, list[Path]] = defaultdict(list)
        for path in self.unsupported:
            by_kind[path.suffix.lower() or "without a suffix"].append(path)
        lines = []
        for kind, paths in sorted(by_kind.items()):
            names = ", ".join(str(p) for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")
            files = "file" if len(paths) == 1 else "files"
            lines.append(f"skipped {len(paths)} {kind} {files}, not a format kilde reads as an article: {names}")
        return lines


@contextlib.contextmanager
def store_errors(what: str) -> Iterator[None]:
    """Turn whatever Chroma or SQLite raise into one StoreError line."""
    try:
        yield
    except StoreError:
        raise
    except Exception as exc:
        detail = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        detail = redact(detail)  # never echo a token, whatever the library put in its message
        if "locked" in detail.lower():
            raise StoreError(f"{what}: the index is locked by another process; try again") from None
        advice = hint(detail, exc)
        raise StoreError(f"{what}: {detail[:300]}" + (f"; {advice}" if advice else "")) from None


def open_client(settings: Settings) -> ClientAPI:
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
    if settings.chroma.url:
        return _http_client(settings, chroma_settings)
    path = settings.chroma_dir
    prepare_data_dir(settings.data_dir)
    sqlite = path / "chroma.sqlite3"
    if sqlite.exists():
        with sqlite.open("rb") as fh:
            if fh.read(16) != b"SQLite format 3\x00":
                raise StoreError(f"the index at {path} is corrupt; {REBUILD}")
        if not (is_writable(path) and is_writable(sqlite)):
            path = _writable_copy(path)
    with store_errors(f"cannot open the index at {path}"):
        return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


def _writable_copy(path: Path) -> Path:
    """Chroma writes to its database whenever it opens it, so a read-only index is answered from a copy."""
    tmp = Path(tempfile.mkdtemp(prefix="kilde-index-"))
    atexit.register(shutil.rmtree, tmp, ignore_errors=True)
    with data_dir_errors(f"cannot copy the read-only index at {path} to {tmp}"):
        shutil.copytree(path, tmp / "chroma", copy_function=shutil.copyfile)
        for folder, _dirs, files in os.walk(tmp):  # copytree kept the read-only modes of the folders
            os.chmod(folder, 0o700)
            for name in files:
                os.chmod(os.path.join(folder, name), 0o600)
    LOG.warning("the index at %s is read-only; answering from a temporary copy", path)
    return tmp / "chroma"


def _http_client(settings: Settings, chroma_settings: ChromaSettings) -> ClientAPI:
    from urllib.parse import urlparse

    import chromadb

    assert settings.chroma.url is not None
    raw = settings.chroma.url.strip()
    url = urlparse(raw if "://" in raw else f"http://{raw}")
    try:
        port = url.port
    except ValueError:
        port = -1
    if url.scheme not in ("http", "https") or not url.hostname or port == -1:
        # The url may hold a password (user:pass@host): name only what is wrong with it.
        raise StoreError("KILDE_CHROMA_URL is not a url like http://host:8000")
    port = port or (443 if url.scheme == "https" else 8000)
    headers = {}
    if settings.chroma.token is not None:
        token = settings.chroma.token.get_secret_value()
        headers["Authorization"] = f"Bearer {token}"
        protect(token)
    with store_errors(f"cannot reach the Chroma server at {url.scheme}://{url.hostname}:{port}"):
        client = chromadb.HttpClient(
            host=url.hostname,
            port=port,
            ssl=url.scheme == "https",
            headers=headers,
            settings=chroma_settings,
        )
        client.heartbeat()
        return client


class Index:
    """Chunks and sentences of every article, with their vectors, in two Chroma collections."""

    def __init__(self, client: ClientAPI, embeddings: Embedder, name: str, embedder: str) -> None:
        self.client = client
        self.embeddings = embeddings
        self.name = name
        self.embedder = embedder
        self._open()

    def _open(self) -> None:
        # Each LangChain wrapper (embeds on write) next to its Chroma collection (count, metadata, update).
        self.chunks, self.chunk_rows = self._open_collection(f"{self.name}_chunks")
        self.sentences, self.sentence_rows = self._open_collection(f"{self.name}_sentences")
        self._shifts: tuple[LanguageShift, LanguageShift] | None = None

    def _open_collection(self, name: str) -> tuple[Chroma, Collection]:
        from langchain_chroma import Chroma

        with store_errors(f"cannot open collection {name}"):
            wrapper = Chroma(
                collection_name=name,
                embedding_function=cast("Embeddings", self.embeddings),  # it calls the same two methods
                client=self.client,
                collection_metadata={"embedder": self.embedder},
                collection_configuration={"hnsw": {"space": "cosine"}},
            )
            return wrapper, self.client.get_collection(name)

    def _embedder_mismatch(self) -> bool:
        with store_errors("cannot read the index"):
            meta = self.chunk_rows.metadata or {}
            return bool(meta.get("embedder")) and meta.get("embedder") != self.embedder and self.count() > 0

    def count(self) -> int:
        return self.counts()[0]

    def counts(self) -> tuple[int, int]:
        """(chunks, sentences) in the index."""
        with store_errors("cannot read the index"):
            return self.chunk_rows.count(), self.sentence_rows.count()

    def ids_by_doc(self, store: Chroma) -> dict[str, set[str]]:
        """Every id of `store`, by document: a full scan, paged."""
        by_doc: dict[str, set[str]] = defaultdict(set)
        with store_errors("cannot read the index"):
            for got in _pages(store, include=["metadatas"]):
                for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                    by_doc[str((meta or {}).get("doc_id", ""))].add(cid)
        return by_doc

    def ids_of_docs(self, store: Chroma, doc_ids: Sequence[str]) -> dict[str, set[str]]:
        """The ids of `store` that belong to the given documents only."""
        by_doc: dict[str, set[str]] = defaultdict(set)
        with store_errors("cannot read the index"):
            for i in range(0, len(doc_ids), 100):
                where: Any = {"doc_id": {"$in": list(doc_ids[i : i + 100])}}
                got = store.get(where=where, include=["metadatas"])
                for cid, meta in zip(got["ids"], got["metadatas"], strict=True):
                    by_doc[str((meta or {}).get("doc_id", ""))].add(cid)
        return by_doc

    def doc_states(self) -> dict[str, DocState]:
        """What the index says about each document, from its front-matter chunk (one per document)."""
        states: dict[str, DocState] = {}
        with store_errors("cannot read the index"):
            for got in _pages(self.chunks, include=["metadatas"], where={"kind": "meta"}):
                for cid, raw in zip(got["ids"], got["metadatas"], strict=True):
                    meta = dict(raw or {})
                    doc = str(meta.get("doc_id", ""))
                    old = states.get(doc)
                    state = DocState(
                        [cid],
                        _str_or_none(meta.get("doc_hash")),
                        _int_or_none(meta.get("doc_chunks")),
                        _int_or_none(meta.get("doc_sentences")),
                    )
                    if old is not None:  # two front-matter chunks: an interrupted update; not to be trusted
                        state = DocState([*old.meta_ids, cid], None, None, None)
                    states[doc] = state
        return states

    def chunk_ids(self) -> list[str]:
        ids: list[str] = []
        with store_errors("cannot read the index"):
            for got in _pages(self.chunks, include=[]):
                ids.extend(got["ids"])
        return ids

    def chunk_texts(self, ids: Sequence[str]) -> dict[str, str]:
        """The text of the given chunks (those that still exist)."""
        texts: dict[str, str] = {}
        with store_errors("cannot read the index"):
            for i in range(0, len(ids), PAGE):
                got = self.chunks.get(ids=list(ids[i : i + PAGE]), include=["documents"])
                texts.update(zip(got["ids"], (d or "" for d in got["documents"]), strict=True))
        return texts

    def fingerprint(self) -> str:
        """Changes whenever any chunk is added or removed."""
        return fingerprint_of(self.chunk_ids())

    def sync(
        self,
        articles: Sequence[Article],
        problems: Sequence[Problem],
        chunk_tokens: int,
        overlap_tokens: int,
        progress: Progress | None = None,
        *,
        chunk_vectors: ChunkVectors = "embedded",
        on_articles: Progress | None = None,
    ) -> IngestReport:
        """Make the index hold exactly `articles`; files with problems keep what they had.

        Each document's front-matter chunk records a hash of what shaped its chunks (text, front matter, chunk
        settings, chunker code) and how many chunks and sentences it has. When those counts add up to the sizes
        of the collections, an article whose hash is unchanged is skipped without being chunked or read back, so
        a re-index of a large corpus costs about one read of the front-matter chunks. Otherwise (an index from an
        older version, an interrupted run, another writer) every id is read and every article compared, as a
        full diff. Articles are chunked, embedded and written `GROUP_DOCS` at a time, so memory stays flat.
        """
        started = time.perf_counter()
        report = IngestReport(problems=list(problems))
        if self._embedder_mismatch():
            with store_errors("cannot rebuild the index"):
                for store in (self.chunks, self.sentences):
                    store.delete_collection()
                self._open()
            report.rebuilt = True
        keep = {p.path.stem for p in problems if p.keep}
        wanted = {a.doc_id for a in articles}
        states = self.doc_states()
        full: tuple[dict[str, set[str]], dict[str, set[str]]] | None = None
        if not self._consistent(states):
            full = self.ids_by_doc(self.chunks), self.ids_by_doc(self.sentences)

        hashes = {a.doc_id: doc_hash(a, chunk_tokens, overlap_tokens) for a in articles}
        todo: list[Article] = []
        for article in articles:
            state = states.get(article.doc_id)
            if (
                state is not None
                and state.doc_hash == hashes[article.doc_id]
                and _counts_match(state, article.doc_id, full)
            ):
                report.skipped.append(article.doc_id)
            else:
                todo.append(article)

        writer = _Writer(self, progress, on_articles, len(todo))
        plan = _Plan(hashes, chunk_tokens, overlap_tokens, full, chunk_vectors)
        for i in range(0, len(todo), GROUP_DOCS):
            group = todo[i : i + GROUP_DOCS]
            self._sync_group(group, plan, report, writer, len(todo) - i)

        if full is None:
            gone = sorted(set(states) - wanted - keep)
            old_chunks = self.ids_of_docs(self.chunks, gone)
            old_sentences = self.ids_of_docs(self.sentences, gone)
        else:
            old_chunks, old_sentences = full
            gone = sorted((set(old_chunks) | set(old_sentences)) - wanted - keep)
        drop_chunks = [cid for doc in gone for cid in sorted(old_chunks.get(doc, set()))]
        drop_sentences = [sid for doc in gone for sid in sorted(old_sentences.get(doc, set()))]
        report.deleted += [doc for doc in gone if doc in old_chunks]
        writer.delete(drop_chunks, drop_sentences)
        writer.finish()
        report.chunks_added = writer.chunks_added
        report.chunks_deleted = writer.chunks_deleted
        report.sentences_added = writer.sentences_added
        report.texts_embedded = writer.embedded
        report.seconds = time.perf_counter() - started
        return report

    def _consistent(self, states: dict[str, DocState]) -> bool:
        """Whether the front-matter chunks account for every row of both collections."""
        if any(s.doc_hash is None or s.chunks is None or s.sentences is None for s in states.values()):
            return False
        chunks, sentences = self.counts()
        return sum(s.chunks or 0 for s in states.values()) == chunks and (
            sum(s.sentences or 0 for s in states.values()) == sentences
        )

    def _sync_group(
        self, group: Sequence[Article], plan: _Plan, report: IngestReport, writer: _Writer, docs_left: int
    ) -> None:
        from retrieval.index.chunks import chunk_article, sentence_records  # tiktoken: not for answering

        docs = [a.doc_id for a in group]
        full = plan.full
        if full is None:
            old_chunks, old_sentences = (
                self.ids_of_docs(self.chunks, docs),
                self.ids_of_docs(self.sentences, docs),
            )
        else:
            old_chunks, old_sentences = full
        add_chunks: list[Chunk] = []
        add_sentences: list[Sentence] = []
        parts: dict[str, list[str]] = {}  # chunk id -> its sentences, when its vector is made of theirs
        drop_chunks: list[str] = []
        drop_sentences: list[str] = []
        marks: list[tuple[str, dict[str, str | int]]] = []
        for article in group:
            doc = article.doc_id
            chunks = chunk_article(article, plan.chunk_tokens, plan.overlap_tokens)
            sentences = sentence_records(article)
            chunk_ids = {c.chunk_id for c in chunks}
            sentence_ids = {s.sentence_id for s in sentences}
            had_chunks, had_sentences = old_chunks.get(doc, set()), old_sentences.get(doc, set())
            if chunk_ids == had_chunks and sentence_ids == had_sentences:
                report.skipped.append(doc)  # the same chunks; only its record in the index was missing
            else:
                (report.updated if doc in old_chunks else report.added).append(doc)
                new_chunks = [c for c in chunks if c.chunk_id not in had_chunks]
                add_chunks += new_chunks
                if plan.chunk_vectors == "sentences":
                    parts.update(sentences_of(new_chunks, sentences))
                add_sentences += [s for s in sentences if s.sentence_id not in had_sentences]
                drop_chunks += sorted(had_chunks - chunk_ids)
                drop_sentences += sorted(had_sentences - sentence_ids)
            head = chunks[0]
            marks.append(
                (
                    head.chunk_id,
                    {
                        **head.metadata,
                        "doc_hash": plan.hashes[doc],
                        "doc_chunks": len(chunk_ids),
                        "doc_sentences": len(sentence_ids),
                    },
                )
            )
        writer.add(add_chunks, add_sentences, parts, len(group), docs_left - len(group))
        writer.delete(drop_chunks, drop_sentences)
        writer.mark(marks)  # last: an interrupted group leaves documents that are compared in full next time

    def dense_chunks(self, vector: list[float], k: int) -> list[tuple[str, str, dict[str, Any], float]]:
        """(chunk id, text, metadata, cosine similarity) of the `k` nearest chunks, ranked across languages as
        the saved copy of a local index ranks them (`LanguageShift`): the nearest of each language are asked for
        apart, and each language's move is added to its chunks' similarity."""
        shift = self.language_shifts()[0]
        with store_errors("cannot search the index"):
            found = self.chunks.similarity_search_by_vector_with_relevance_scores(vector, k)
            for language in shift.languages:
                found += self.chunks.similarity_search_by_vector_with_relevance_scores(
                    vector, k, filter={"language": language}
                )
        # The "relevance score" here is Chroma's cosine distance.
        rows = list({str(doc.id): (doc, 1.0 - float(dist)) for doc, dist in found}.values())
        if shift.languages:
            query = np.asarray(vector, dtype=np.float64)
            offsets = shift.offsets(
                query / (np.linalg.norm(query) or 1.0),
                shift.rows([str(d.metadata.get("language", "")) for d, _ in rows]),
            )
            order = np.argsort(-(np.asarray([score for _, score in rows]) + offsets), kind="stable")
            rows = [rows[i] for i in order]
        return [(str(doc.id), doc.page_content, dict(doc.metadata), score) for doc, score in rows[:k]]

    def language_shifts(self) -> tuple[LanguageShift, LanguageShift]:
        """The chunk and sentence shifts the last ingest saved with the collections (none before)."""
        if self._shifts is None:
            none = LanguageShift((), np.zeros((0, 0)))
            with store_errors("cannot read the index"):
                saved = (self.chunk_rows.metadata or {}).get(SHIFTS_KEY)
            try:
                data = json.loads(saved) if isinstance(saved, str) else None
                self._shifts = (
                    (LanguageShift.from_json(data["chunks"]), LanguageShift.from_json(data["sentences"]))
                    if data
                    else (none, none)
                )
            except (ValueError, KeyError, TypeError):
                self._shifts = (none, none)
        return self._shifts

    def save_language_shifts(self) -> None:
        """For an index read from Chroma itself (a server's): record each chunk's article language in its metadata
        and work out the shifts, a page of vectors at a time, into the chunk collection's metadata. A local index
        keeps both in its saved copy instead (`snapshot.write`)."""
        ids, texts, metas = self.all_chunks()
        languages = chunk_languages(texts, metas)
        stale = [
            (cid, lang)
            for cid, lang, meta in zip(ids, languages, metas, strict=True)
            if meta.get("language") != lang
        ]
        with store_errors("cannot update the index"):
            for i in range(0, len(stale), PAGE):
                page = stale[i : i + PAGE]
                self.chunk_rows.update(
                    ids=[c for c, _ in page], metadatas=[{"language": lang} for _, lang in page]
                )
        of_doc = language_of_doc(metas, languages)

        def blocks(store: Chroma) -> Iterator[tuple[np.ndarray, list[str], list[str]]]:
            for got in _pages(store, include=["metadatas", "embeddings"]):
                docs = docs_of([dict(m or {}) for m in got["metadatas"]])
                yield np.asarray(got["embeddings"], dtype=np.float32), [of_doc.get(d, "") for d in docs], docs

        with store_errors("cannot update the index"):
            shifts = {
                "chunks": LanguageShift.fit_blocks(blocks(self.chunks)).to_json(),
                "sentences": LanguageShift.fit_blocks(blocks(self.sentences)).to_json(),
            }
            kept = {
                key: value
                for key, value in (self.chunk_rows.metadata or {}).items()
                if not key.startswith("hnsw:")
            }
            self.chunk_rows.modify(metadata={**kept, SHIFTS_KEY: json.dumps(shifts)})
        self._shifts = None

    def sample_text(self, n: int = 50) -> str:
        """Some article text, to tell the corpus language."""
        with store_errors("cannot read the index"):
            got = self.chunks.get(where={"kind": "body"}, limit=n, include=["documents"])
        return " ".join(d or "" for d in got["documents"])

    def all_chunks(self) -> tuple[list[str], list[str], list[dict[str, Any]]]:
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        with store_errors("cannot read the index"):
            for got in _pages(self.chunks, include=["documents", "metadatas"]):
                ids += got["ids"]
                texts += [d or "" for d in got["documents"]]
                metas += [dict(m or {}) for m in got["metadatas"]]
        return ids, texts, metas

    def all_rows(self, store: Chroma) -> tuple[list[str], list[str], list[dict[str, Any]], np.ndarray]:
        """Every row of `store`: ids, texts, metadata and vectors (float32, one row each)."""
        ids: list[str] = []
        texts: list[str] = []
        metas: list[dict[str, Any]] = []
        vectors: list[np.ndarray] = []
        with store_errors("cannot read the index"):
            for got in _pages(store, include=["documents", "metadatas", "embeddings"]):
                ids += got["ids"]
                texts += [d or "" for d in got["documents"]]
                metas += [dict(m or {}) for m in got["metadatas"]]
                vectors.append(np.asarray(got["embeddings"], dtype=np.float32))
        return ids, texts, metas, np.concatenate(vectors) if vectors else np.zeros((0, 0), dtype=np.float32)

    def chunks_by_id(self, ids: Sequence[str]) -> dict[str, tuple[str, dict[str, Any]]]:
        """(text, metadata) of the given chunks that exist."""
        with store_errors("cannot read the index"):
            got = self.chunks.get(ids=list(ids), include=["documents", "metadatas"])
        return {
            cid: (text or "", dict(meta or {}))
            for cid, text, meta in zip(got["ids"], got["documents"], got["metadatas"], strict=True)
        }

    def document_metadatas(self) -> list[dict[str, Any]]:
        """The metadata of each document's front-matter chunk."""
        with store_errors("cannot read the index"):
            got = self.chunks.get(where={"kind": "meta"}, include=["metadatas"])
        return [dict(m or {}) for m in got["metadatas"]]

    def doc_parts(self, doc_ids: Sequence[str]) -> tuple[dict[str, Any], dict[str, Any]]:
        """All chunks and all sentences (with vectors, moved by `language_shifts`) of the given documents."""
        where: Any = {"doc_id": {"$in": list(doc_ids)}}
        with store_errors("cannot read the index"):
            chunks = self.chunks.get(where=where, include=["documents", "metadatas"])
            sentences = self.sentences.get(where=where, include=["documents", "metadatas", "embeddings"])
        shift = self.language_shifts()[1]
        if shift.languages and len(sentences["ids"]):
            of_doc = {m.get("doc_id"): m.get("language", "") for m in chunks["metadatas"] if m}
            languages = [str(of_doc.get((m or {}).get("doc_id"), "")) for m in sentences["metadatas"]]
            sentences["embeddings"] = np.asarray(sentences["embeddings"], dtype=np.float64) + shift.moves(
                languages
            )
        return chunks, sentences


def fingerprint_of(chunk_ids: Iterable[str]) -> str:
    return hashlib.sha256("\n".join(sorted(chunk_ids)).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class _Plan:
    hashes: dict[str, str]  # doc id -> doc_hash
    chunk_tokens: int
    overlap_tokens: int
    full: tuple[dict[str, set[str]], dict[str, set[str]]] | None  # every id by document, when read in full
    chunk_vectors: ChunkVectors


@dataclass(frozen=True)
class DocState:
    """A document as recorded in the index by its front-matter chunk(s)."""

    meta_ids: list[str]
    doc_hash: str | None
    chunks: int | None
    sentences: int | None


@functools.cache
def chunker_fingerprint() -> str:
    """Changes when the code that cuts articles into chunks and sentences (and says what of them is embedded)
    changes, so their ids may, too. Read as files, not imported: every question checks it, and the chunker
    imports tiktoken."""
    here = Path(__file__).parent
    digest = hashlib.sha256()
    for path in (here / "chunks.py", here.parent / "text.py", here / "tokens.py"):
        try:
            digest.update(path.read_bytes())
        except OSError:  # pragma: no cover - a frozen install without sources: never trust saved hashes
            digest.update(os.urandom(16))
    return digest.hexdigest()[:16]


def doc_hash(article: Article, chunk_tokens: int, overlap_tokens: int) -> str:
    """Everything that decides an article's chunk and sentence ids."""
    payload = json.dumps(
        [
            chunker_fingerprint(),
            chunk_tokens,
            overlap_tokens,
            article.doc_id,
            article.metadata(),
            article.text,
            sorted(article.headings),
        ],
        ensure_ascii=False,
    )
    return hashlib.sha256(payload.encode()).hexdigest()[:32]


def _counts_match(
    state: DocState, doc: str, full: tuple[dict[str, set[str]], dict[str, set[str]]] | None
) -> bool:
    if full is None:
        return True  # the collections as a whole add up
    return len(full[0].get(doc, ())) == state.chunks and len(full[1].get(doc, ())) == state.sentences


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _pages(store: Chroma, include: list[str], where: dict[str, Any] | None = None) -> Iterator[Any]:
    """`store.get` a page at a time, so a large collection never comes back in one response.

    All matching ids come first, in one call (small), then the rest by id, `PAGE` ids at a time: Chroma pages by
    `offset` in O(offset), which makes paging a 100,000-row collection quadratic (measured: 3.7 s against 0.3 s).
    """
    ids = store.get(include=[], where=where)["ids"]
    if not include:
        for i in range(0, len(ids), PAGE):
            yield {"ids": ids[i : i + PAGE]}
        return
    for i in range(0, len(ids), PAGE):
        got = store.get(ids=ids[i : i + PAGE], include=include)
        if got["ids"]:
            yield got


def sentences_of(chunks: Sequence[Chunk], sentences: Sequence[Sentence]) -> dict[str, list[str]]:
    """What is embedded of the sentences each body chunk is made of (a chunk is whole sentences of one article)."""
    return {
        c.chunk_id: [s.embedded for s in sentences if c.start <= s.start and s.end <= c.end]
        for c in chunks
        if c.kind == "body"
    }


def mean_vector(vectors: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """A chunk's vector from its sentences': their mean weighted by length, unit length like the embedder's.
    Measured on the bundled corpus: cosine 0.971 on average to the chunk embedded as a whole."""
    mean: np.ndarray = (vectors * weights[:, None]).sum(axis=0)
    norm = float(np.linalg.norm(mean))
    return mean / norm if norm > 0 else mean


class _Writer:
    """Embeds and writes in batches, reports progress (texts), and counts what it did.

    The texts of a group are embedded together (the embedder sorts them by length and batches them), `SLICE` at a
    time so memory stays flat; a chunk whose vector is made of its sentences' (`parts`) costs no embedding of its
    own, only its sentences (a 160-token chunk costs several times a sentence, and every answer is built from
    sentences).
    """

    SLICE = 1024

    def __init__(
        self, index: Index, progress: Progress | None, on_articles: Progress | None = None, articles: int = 0
    ) -> None:
        self.index = index
        self.progress = progress
        self.on_articles = on_articles  # (articles chunked, articles to index)
        self.articles = articles
        self.done = 0
        self.known = 0  # texts queued so far
        self.extra = 0  # a guess at what the articles not yet chunked will add
        self.docs_done = 0
        self.chunks_added = 0
        self.sentences_added = 0
        self.chunks_deleted = 0
        self.embedded = 0  # texts the embedder computed (not from the cache)

    def add(
        self,
        chunks: Sequence[Chunk],
        sentences: Sequence[Sentence],
        parts: dict[str, list[str]] | None = None,
        docs: int = 0,
        docs_left: int = 0,
    ) -> None:
        parts = parts or {}
        texts = list(
            dict.fromkeys(
                [s.embedded for s in sentences] + [t for c in chunks for t in parts.get(c.chunk_id, [c.text])]
            )
        )
        self.known += len(texts)
        self.docs_done += docs
        self.extra = round(docs_left * self.known / self.docs_done) if self.docs_done else 0
        self._report()
        vectors = self._embed(texts)
        row = {t: i for i, t in enumerate(texts)}
        chunk_vectors = [
            mean_vector(
                vectors[[row[t] for t in parts[c.chunk_id]]],
                np.array([len(t) for t in parts[c.chunk_id]], dtype=np.float32),
            )
            if c.chunk_id in parts
            else vectors[row[c.text]]
            for c in chunks
        ]
        with store_errors("cannot write to the index"):
            for i in range(0, len(chunks), BATCH):
                batch = chunks[i : i + BATCH]
                self.index.chunk_rows.upsert(
                    ids=[c.chunk_id for c in batch],
                    embeddings=np.asarray(chunk_vectors[i : i + BATCH], dtype=np.float32),
                    documents=[c.text for c in batch],
                    metadatas=[dict(c.metadata) for c in batch],  # type: ignore[misc]
                )
                self.chunks_added += len(batch)
            for j in range(0, len(sentences), BATCH):
                sbatch = sentences[j : j + BATCH]
                self.index.sentence_rows.upsert(
                    ids=[s.sentence_id for s in sbatch],
                    embeddings=vectors[[row[s.embedded] for s in sbatch]],
                    documents=[s.text for s in sbatch],
                    metadatas=[dict(s.metadata) for s in sbatch],  # type: ignore[misc]
                )
                self.sentences_added += len(sbatch)

    def _embed(self, texts: list[str]) -> np.ndarray:
        """Vectors of `texts` (float32, a row each), progress reported as the embedder finishes its batches."""
        embedder = self.index.embeddings
        out = np.zeros((len(texts), 0), dtype=np.float32)
        pieces: list[np.ndarray] = []

        def step(n: int) -> None:
            self.done += n
            self.embedded += n
            self._report()

        hooked = hasattr(embedder, "progress")
        if hooked:
            embedder.progress = step  # type: ignore[attr-defined]
        try:
            for i in range(0, len(texts), self.SLICE):
                part = texts[i : i + self.SLICE]
                before = self.embedded
                pieces.append(np.asarray(embedder.embed_documents(part), dtype=np.float32))
                if hooked:  # what the embedder did not report came from the cache
                    self.done += len(part) - (self.embedded - before)
                else:  # no word from it: count it all as embedded
                    self.done += len(part)
                    self.embedded += len(part)
                self._report()
        finally:
            if hooked:
                embedder.progress = None  # type: ignore[attr-defined]
        return np.concatenate(pieces) if pieces else out

    def delete(self, chunk_ids: Sequence[str], sentence_ids: Sequence[str]) -> None:
        with store_errors("cannot write to the index"):
            for store, ids in ((self.index.chunks, chunk_ids), (self.index.sentences, sentence_ids)):
                for i in range(0, len(ids), PAGE):
                    store.delete(ids=list(ids[i : i + PAGE]))
        self.chunks_deleted += len(chunk_ids)

    def mark(self, marks: Sequence[tuple[str, dict[str, str | int]]]) -> None:
        with store_errors("cannot write to the index"):
            for i in range(0, len(marks), PAGE):
                part = marks[i : i + PAGE]
                self.index.chunk_rows.update(
                    ids=[cid for cid, _ in part],
                    metadatas=[meta for _, meta in part],  # type: ignore[misc]
                )

    def finish(self) -> None:
        self.extra = 0
        self._report()

    def _report(self) -> None:
        if self.progress:
            self.progress(self.done, max(self.known + self.extra, self.done))
        if self.on_articles:
            self.on_articles(self.docs_done, max(self.articles, self.docs_done))


def prepare_data_dir(data_dir: Path) -> None:
    """Create the data directory if its parent exists; a path whose parent is missing is a mistake, not a wish."""
    if data_dir.is_dir():
        return
    if data_dir.exists():
        raise StoreError(f"data directory {data_dir} is not a directory")
    if data_dir == default_data_dir():
        data_dir.parent.mkdir(parents=True, exist_ok=True)
    if not data_dir.parent.exists():
        raise StoreError(f"data directory {data_dir} does not exist (nor does {data_dir.parent})")
    try:
        data_dir.mkdir()
    except OSError as exc:
        raise StoreError(f"cannot create data directory {data_dir}: {exc.strerror}") from None


def update_in_progress(data_dir: Path) -> bool:
    """Whether another process holds the write lock now (an ingest running, not one that was interrupted)."""
    try:
        handle = (data_dir / "ingest.lock").open("rb")
    except OSError:
        return False
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


@contextlib.contextmanager
def write_lock(data_dir: Path, timeout: float = 120.0) -> Iterator[None]:
    """One writer at a time per data directory, across processes."""
    prepare_data_dir(data_dir)
    try:
        handle = (data_dir / "ingest.lock").open("a+")
    except OSError as exc:
        raise StoreError(f"cannot write to data directory {data_dir}: {exc.strerror}") from None
    deadline = time.monotonic() + timeout
    with handle:
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreError(f"the index in {data_dir} is locked by another kilde process") from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def check_writable(data_dir: Path) -> None:
    if not is_writable(data_dir):
        raise StoreError(f"data directory {data_dir} is read-only; {READ_ONLY}")


def read_state(data_dir: Path) -> dict[str, Any]:
    try:
        loaded = json.loads((data_dir / "state.json").read_text())
    except (OSError, ValueError):
        return {}
    return loaded if isinstance(loaded, dict) else {}


def write_state(data_dir: Path, state: dict[str, Any]) -> None:
    """Replace state.json in one step: a reader (or the next command after a crash) sees the old or the new."""
    tmp = data_dir / "state.json.tmp"
    tmp.write_text(json.dumps(state, indent=2))
    tmp.replace(data_dir / "state.json")
