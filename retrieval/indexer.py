"""What the front ends do with the index: keep it current before answering, ingest articles, rebuild it.

The front ends only print: every decision (which articles, whether to re-index, what to do when that fails) is
made here, and told through one-line notes.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from retrieval.errors import KildeError, UsageError
from retrieval.index.corpus import Corpus, indexed_corpus
from retrieval.index.store import IngestReport
from retrieval.settings import Settings
from retrieval.types import DocumentInfo

if TYPE_CHECKING:
    from retrieval.index.convert import Converted
    from retrieval.index.embeddings import Embedder

__all__ = [
    "Added",
    "Corpus",
    "Indexer",
    "IngestReport",
    "add_file",
    "add_url",
    "list_articles",
    "remove_article",
]

Note = Callable[[str], None]
Progress = Callable[[int, int], None]


class Indexer:
    """The index of `settings`, for front ends: they never import `retrieval.index` themselves."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def corpus(self) -> Corpus:
        """The articles the index holds (see `retrieval.index.corpus.indexed_corpus`)."""
        return indexed_corpus(self.settings)

    def ingest(
        self, paths: Sequence[Path], on_progress: Progress | None = None, on_articles: Progress | None = None
    ) -> IngestReport:
        """Index exactly these articles; re-running embeds only what changed."""
        from retrieval.index.store import prepare_data_dir
        from retrieval.service import build_embeddings, ingest_articles

        prepare_data_dir(self.settings.data_dir)
        return ingest_articles(
            self.settings, paths, build_embeddings(self.settings), on_progress, on_articles=on_articles
        )

    def rebuild(self) -> Path | None:
        """Set the index aside so the next ingest builds it anew; returns where it went (None: nothing moved)."""
        from retrieval.index.recovery import set_aside

        return set_aside(self.settings)

    def ensure(self, note: Note, ingest: Callable[[list[Path]], IngestReport]) -> None:
        """Index the articles on first use, and again (incrementally, through `ingest`) when they changed.

        The articles are those the index was built from (`kilde ingest PATH` chooses them), unless
        KILDE_CORPUS_DIR is set to others on purpose; a new index takes the corpus setting. The default corpus
        never switches an index to other articles, so a question never deletes any by itself.

        An update another process is making is not waited for: questions are answered from the last complete
        index, and one line says so. One that was interrupted (killed, a full disk) is rolled back to the
        articles of the last complete index (finished, when those are gone), and `ingest` says which.
        """
        from retrieval.index.datadir import is_writable
        from retrieval.index.ingest import is_stale, made_by_other_code, pending_update
        from retrieval.index.store import prepare_data_dir, read_state, update_in_progress

        settings = self.settings
        if not settings.chroma.url:
            prepare_data_dir(settings.data_dir)
        corpus = self.corpus()
        if corpus.note:
            note(corpus.note)
        first = not read_state(settings.data_dir).get("corpus_fingerprint")
        shown = ", ".join(str(p) for p in corpus.paths)
        pending = pending_update(settings.data_dir)
        if pending is not None and first and all(Path(p).exists() for p in pending):
            corpus = Corpus([Path(p) for p in pending])  # the first ingest was interrupted: finish it
            shown = ", ".join(pending)
        if pending is not None and not first:
            if update_in_progress(settings.data_dir):
                note(
                    f"the index is being updated (to the articles in {', '.join(pending)}) by another kilde "
                    f"process; answering from the last complete index, the articles in {shown}"
                )
                return
            if corpus.missing and all(Path(p).exists() for p in pending):
                self._update(note, ingest, [Path(p) for p in pending])  # the old articles are gone: finish
                return
        if corpus.missing:
            note(f"{corpus.missing[0]} is gone; answering from the index as it is")
            return
        if not settings.corpus_dir.is_dir() and corpus.paths == [settings.corpus_dir]:
            raise KildeError(f"corpus directory {settings.corpus_dir} does not exist (set KILDE_CORPUS_DIR)")
        if pending is None and not is_stale(settings, corpus.paths):
            return
        if not first and not settings.chroma.url and not is_writable(settings.data_dir):
            note(f"{shown} changed, but the data directory is read-only; answering from the index as it is")
            return
        if first:
            note(f"indexing {shown} for the first time …")
            ingest(corpus.paths)
            return
        if pending is None and made_by_other_code(settings):
            note("the index was made by another version of kilde; updating it …")
        elif pending is None:
            note(f"{shown} changed since the last index; updating it …")
        self._update(note, ingest, corpus.paths)

    @staticmethod
    def _update(note: Note, ingest: Callable[[list[Path]], IngestReport], paths: list[Path]) -> None:
        try:
            ingest(paths)
        except KildeError as exc:  # a full disk, a damaged cache, a lock held long: the old index still answers
            note(f"{exc}; answering from the last complete index")


# Adding and removing single articles (the `kilde add` command and the Telegram admin commands).


@dataclass(frozen=True)
class Added:
    doc_id: str
    title: str
    path: Path  # the Markdown file written into the corpus folder


def add_url(settings: Settings, url: str, embeddings: Embedder | None = None) -> Added:
    """Fetch `url` (see `retrieval.index.fetch`), convert it, save it in the corpus folder and index it."""
    from retrieval.index.convert import convert
    from retrieval.index.fetch import fetch

    page = fetch(url, settings)
    converted = _converted(
        lambda: convert(page.name, page.data, url=page.url, content_type=page.content_type), url
    )
    return _add(settings, converted, embeddings)


def add_file(settings: Settings, name: str, data: bytes, embeddings: Embedder | None = None) -> Added:
    """Convert the file `name` (its bytes `data`), save it in the corpus folder as Markdown and index it."""
    from retrieval.index.convert import convert

    shown = Path(name).name or "file"
    if len(data) > MAX_ADD_BYTES:
        raise UsageError(f"{shown}: larger than {MAX_ADD_BYTES // 1_000_000} MB")
    return _add(settings, _converted(lambda: convert(shown, data), shown), embeddings)


def remove_article(settings: Settings, doc_id: str, embeddings: Embedder | None = None) -> str:
    """Move the article's file out of the corpus (into DATA_DIR/removed/) and update the index; its title."""
    from retrieval.index.articles import find_files

    corpus = _writable_corpus(settings)
    matches = [p for p in find_files(corpus.paths) if p.stem == doc_id and p.is_file() and not p.is_symlink()]
    if not matches:
        raise UsageError(f"no article with id {doc_id!r}")
    titles = {info.doc_id: info.title for info in list_articles(settings)}
    source = matches[0]
    removed = settings.data_dir / "removed"
    target = removed / f"{time.strftime('%Y%m%d-%H%M%S')}-{source.name}"
    try:
        removed.mkdir(parents=True, exist_ok=True)
        shutil.move(source, target)
    except OSError as exc:
        raise UsageError(f"cannot move {source} to {removed}: {exc.strerror or type(exc).__name__}") from None
    try:
        _ingest(settings, corpus.paths, embeddings)
    except BaseException:
        shutil.move(target, source)  # the article is back, and the next ingest finds it as it was
        raise
    return titles.get(doc_id, doc_id)


def list_articles(settings: Settings) -> list[DocumentInfo]:
    """The articles the index holds, oldest first (undated first), then by id."""
    from retrieval.index.embeddings import FakeEmbeddings
    from retrieval.index.store import Index, open_client

    if not _has_index(settings):
        return []
    index = Index(open_client(settings), FakeEmbeddings(), settings.collection, settings.embedder_id)
    infos = [
        DocumentInfo(str(m["doc_id"]), str(m.get("title", m["doc_id"])), m.get("date"), m.get("url"))
        for m in index.document_metadatas()
    ]
    return sorted(infos, key=lambda d: (d.date or "", d.doc_id))


MAX_ADD_BYTES = 20_000_000  # as for a file in the corpus (`articles.MAX_ARTICLE_BYTES`)


def _converted(run: Callable[[], Converted], shown: str) -> Converted:
    from retrieval.index.articles import ArticleError

    try:
        return run()
    except ArticleError as exc:
        raise UsageError(f"{shown}: {exc}") from None
    except KildeError:
        raise
    except Exception as exc:  # a converter library's own failure on a broken file: one line, nothing changed
        raise UsageError(f"{shown}: cannot be read ({type(exc).__name__})") from None


def _writable_corpus(settings: Settings) -> Corpus:
    corpus = indexed_corpus(settings)
    if corpus.missing:
        raise UsageError(f"{corpus.missing[0]} is gone; bring it back or `kilde ingest PATH` first")
    return corpus


def corpus_folder(settings: Settings) -> Path:
    """Where `kilde add` saves articles: the folder the index was built from (or the corpus setting)."""
    folders = [p for p in indexed_corpus(settings).paths if p.is_dir()]
    return folders[0] if folders else settings.corpus_dir


def _add(settings: Settings, converted: Converted, embeddings: Embedder | None) -> Added:
    from retrieval.index.articles import ArticleError, parse_article
    from retrieval.index.convert import slug

    corpus = _writable_corpus(settings)
    folder = corpus_folder(settings)
    if converted.url:
        for info in list_articles(settings):
            if info.url == converted.url:
                raise UsageError(f"{converted.url} is already in the index as {info.doc_id}")
    text = converted.to_markdown()
    shown = converted.source_file or converted.url or "article"
    try:
        title = parse_article(Path("article.md"), text.encode()).title
    except ArticleError as exc:
        raise UsageError(f"{shown}: {exc}") from None
    folder.mkdir(parents=True, exist_ok=True)
    path = _new_file(folder, slug(title), text)
    doc_id = path.stem
    article = parse_article(path, text.encode())
    paths = list(corpus.paths)
    if not any(p.resolve() == folder.resolve() for p in paths if p.exists()):
        paths.append(folder)
    try:
        report = _ingest(settings, paths, embeddings)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    problem = next((p for p in report.problems if p.path == path), None)
    if problem is not None or doc_id not in report.added + report.updated + report.skipped:
        path.unlink(missing_ok=True)
        _ingest(settings, paths, embeddings)
        raise UsageError(f"{doc_id}: {problem.reason if problem else 'was not indexed'}")
    return Added(doc_id, article.title, path)


def _new_file(folder: Path, base: str, text: str) -> Path:
    """Write `text` to FOLDER/BASE.md, or BASE-2.md, ... (never over another article, even one written meanwhile)."""
    taken = {p.stem for p in folder.iterdir()}
    for n in range(1, 10_000):
        stem = base if n == 1 else f"{base}-{n}"
        if stem in taken:
            continue
        path = folder / f"{stem}.md"
        try:
            with path.open("x", encoding="utf-8") as handle:
                handle.write(text)
        except FileExistsError:
            continue
        except OSError as exc:
            raise UsageError(f"cannot save {path}: {exc.strerror or type(exc).__name__}") from None
        return path
    raise UsageError(f"too many articles named {base} in {folder}")


def _has_index(settings: Settings) -> bool:
    from retrieval.index.store import read_state

    return bool(settings.chroma.url or read_state(settings.data_dir).get("corpus_fingerprint"))


def _ingest(settings: Settings, paths: Sequence[Path], embeddings: Embedder | None) -> IngestReport:
    from retrieval.index.store import prepare_data_dir
    from retrieval.service import build_embeddings, ingest_articles

    if not settings.chroma.url:
        prepare_data_dir(settings.data_dir)
    return ingest_articles(settings, paths, embeddings or build_embeddings(settings))
