"""Indexing: read the articles, chunk them, and bring the Chroma index in line, re-embedding only what changed."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from retrieval.errors import KildeError, StoreError
from retrieval.index import lexical, snapshot
from retrieval.index.articles import Article, Problem, find_files, load_articles
from retrieval.index.datadir import FULL, data_dir_errors, hint
from retrieval.index.embeddings import Embedder
from retrieval.index.store import (
    SHIFTS_KEY,
    Index,
    IngestReport,
    Progress,
    check_writable,
    chunker_fingerprint,
    open_client,
    read_state,
    write_lock,
    write_state,
)
from retrieval.settings import Settings

LOW_SPACE_BYTES = 64 * 1024 * 1024
CHUNKER = "chunker"  # in the data directory's state: the chunking code that made the index
PENDING = "pending_update"  # in state.json while an ingest changes Chroma: {"paths": [...]}
RACY_FILES = "racy_files"  # in state.json: {path: sha256} of files changed just before the last ingest read them
# A file system keeps modification times only so finely (a kernel tick; FAT two seconds): a file changed again
# within this time of a check may keep its time and size, so such a file is also compared by content.
RACY_NS = 2_000_000_000


def corpus_fingerprint(paths: Sequence[Path], settings: Settings) -> str:
    """Cheap: file names, sizes and modification times, plus the settings and the code that shape chunks (an index
    that older code made is brought up to date, re-embedding only what changed)."""
    return _corpus_stats(paths, settings)[0]


def _corpus_stats(paths: Sequence[Path], settings: Settings) -> tuple[str, dict[str, int]]:
    """The fingerprint, and the modification time of each file.

    Every file under the folders counts, not only those read as articles (hidden ones aside, as for articles): a
    change to another file costs one sync that finds nothing to do, and this stays a plain walk with strings and
    one `stat` per file, cheap enough for every question (5,000 files: ~35-50 ms of CPU, benchmarks/bench_live.py;
    through `find_files` and pathlib it was about 4 times that).
    """
    rows: list[str] = []
    mtimes: dict[str, int] = {}
    for root in paths:
        top = os.path.realpath(root)
        if not os.path.isdir(top):
            _stat_row(top, rows, mtimes)
            continue
        folders = [top]
        while folders:
            try:
                entries = list(os.scandir(folders.pop()))
            except OSError:
                continue
            for entry in entries:
                if entry.name.startswith("."):
                    continue
                if entry.is_dir(follow_symlinks=False):
                    folders.append(entry.path)
                else:
                    _stat_row(entry.path, rows, mtimes)
    rows.sort()
    rows.insert(
        0, f"{settings.embedder_id}|{settings.chunk_tokens}|{settings.chunk_overlap_tokens}|{chunker_fingerprint()}"
    )
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16], mtimes


def _stat_row(path: str, rows: list[str], mtimes: dict[str, int]) -> None:
    try:
        stat = os.stat(path)  # follows a link: its target's changes count
    except OSError:
        return
    rows.append(f"{path}|{stat.st_size}|{stat.st_mtime_ns}")
    mtimes[path] = stat.st_mtime_ns


def _content_hash(path: str) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError:
        return ""


def watch_state(paths: Sequence[Path], settings: Settings) -> dict[str, Any]:
    """What tells, later, whether any article file changed: taken before the articles are read, so a file
    changed while ingest reads it is seen as changed by the next check."""
    now = time.time_ns()
    fingerprint, mtimes = _corpus_stats(paths, settings)
    racy = {path: _content_hash(path) for path, mtime in mtimes.items() if mtime > now - RACY_NS}
    return {"corpus_fingerprint": fingerprint, RACY_FILES: racy, CHUNKER: chunker_fingerprint()}


def _still_racy(racy: dict[str, str]) -> dict[str, str]:
    """Of the files hashed before ingest read them, those a check must still compare by content: changed within
    `RACY_NS` of now (a write in the same tick may follow unseen), or changed since they were hashed. For the
    others any later write gets a later time, which the fingerprint shows."""
    now = time.time_ns()
    kept = {}
    for path, digest in racy.items():
        try:
            mtime = os.stat(path).st_mtime_ns
        except OSError:
            continue  # gone: the fingerprint shows that
        if mtime > now - RACY_NS or _content_hash(path) != digest:
            kept[path] = digest
    return kept


def unsupported_files(paths: Sequence[Path]) -> list[Path]:
    """Files in the given folders that are not read as articles (hidden files and folders aside)."""
    read = set(find_files(paths))
    skipped: list[Path] = []
    for root in paths:
        if not root.is_dir():
            continue
        for folder, dirs, files in os.walk(root):  # the walk `find_files` makes: links to folders not followed
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            here = Path(folder)
            skipped += sorted(here / f for f in files if not f.startswith(".") and here / f not in read)
    return skipped


def interrupted_line(state: dict[str, Any], paths: Sequence[Path]) -> str:
    """What this ingest does about an update that was interrupted (killed, a full disk), or '' if there was none."""
    pending = _pending_paths(state)
    if pending is None:
        return ""
    recorded = [str(p) for p in state.get("paths", []) if isinstance(p, str)]
    given = [str(p.resolve()) for p in paths]
    if given == pending:
        if recorded in ([], pending):
            return "an interrupted update of the index was found and is finished now"
        return f"the interrupted switch to {_shown(pending)} is finished now"
    if given == recorded:
        return (
            f"the interrupted switch to {_shown(pending)} is rolled back: the index holds the articles in "
            f"{_shown(recorded)} again (`kilde ingest {' '.join(pending)}` switches it)"
        )
    return f"an interrupted switch to {_shown(pending)} was found; the index is switched to {_shown(given)}"


def pending_update(data_dir: Path) -> list[str] | None:
    """The paths of an ingest that began changing the index and has not finished (running or interrupted)."""
    return _pending_paths(read_state(data_dir))


def _pending_paths(state: dict[str, Any]) -> list[str] | None:
    pending = state.get(PENDING)
    if not isinstance(pending, dict) or not isinstance(pending.get("paths"), list):
        return None
    return [str(p) for p in pending["paths"]]


def _shown(paths: Sequence[object]) -> str:
    return ", ".join(str(p) for p in paths[:3]) + (f" and {len(paths) - 3} more" if len(paths) > 3 else "")


def _refuse_to_lose(
    paths: Sequence[Path], articles: Sequence[Article], problems: Sequence[Problem], unsupported: Sequence[Path]
) -> None:
    """An ingest that would drop the index's articles by mistake changes nothing instead (one line, exit 1)."""
    named = {p for p in paths if not p.is_dir()}
    for problem in problems:
        if problem.path in named:  # named on purpose: indexing the rest without it is not what was asked
            raise KildeError(f"cannot read {problem}; the index is unchanged")
    if articles:
        return
    reasons = [f"{len(problems)} with problems, first {problems[0]}"] if problems else []
    if unsupported:
        kinds = sorted({p.suffix.lower() or "no suffix" for p in unsupported})
        reasons.append(f"{len(unsupported)} not in a format kilde reads ({', '.join(kinds)})")
    detail = f" (files: {'; '.join(reasons)})" if reasons else " (no files)"
    raise KildeError(f"no readable article in {_shown(paths)}{detail}; the index is unchanged")


def ingest(
    settings: Settings,
    paths: Sequence[Path],
    embeddings: Embedder,
    progress: Progress | None = None,
    index: Index | None = None,
    *,
    on_articles: Progress | None = None,
) -> IngestReport:
    """Make the index hold exactly the articles under `paths`.

    Questions go on being answered from the copy of the last complete ingest (`snapshot`) until this one has
    finished: its new copy and the articles it holds become current in one replace of state.json. While Chroma
    is being changed, state.json says so (`PENDING`), so the next command finds an ingest that was killed or
    failed half-way and finishes or rolls it back (`retrieval.indexer.Indexer.ensure`).
    """
    local = not settings.chroma.url
    if local:
        check_writable(settings.data_dir)
    with write_lock(settings.data_dir), _disk_full_hint(settings.data_dir):
        watched = watch_state(paths, settings)
        articles, problems = load_articles(paths)
        unsupported = unsupported_files(paths)
        _refuse_to_lose(paths, articles, problems, unsupported)
        index = index or Index(open_client(settings), embeddings, settings.collection, settings.embedder_id)
        with data_dir_errors(f"cannot update the index in {settings.data_dir}"):
            state = read_state(settings.data_dir)
            recovered = interrupted_line(state, paths)
            state[PENDING] = {"paths": [str(p.resolve()) for p in paths]}
            write_state(settings.data_dir, state)
        report = index.sync(
            articles, problems, settings.chunk_tokens, settings.chunk_overlap_tokens, progress,
            chunk_vectors=settings.chunk_vectors,
            on_articles=on_articles,
        )
        report.unsupported, report.recovered = unsupported, recovered
        with data_dir_errors(f"cannot update the index in {settings.data_dir}"):
            # Bring the saved BM25 index up to date now, so the next question does not pay for it.
            started = time.perf_counter()
            bm25 = lexical.lexical_path(settings.data_dir, settings.collection)
            lexical.refresh(index, bm25)
            report.lexical_seconds = time.perf_counter() - started
            state = read_state(settings.data_dir)
            previous = state.get(snapshot.STATE_KEY)
            if local:  # a server's index is always read from Chroma
                state[snapshot.STATE_KEY] = snapshot.write(index, settings.data_dir)
            elif report.changed or SHIFTS_KEY not in (index.chunk_rows.metadata or {}):
                index.save_language_shifts()  # reads every vector once: not when nothing changed
            state.update(watched)
            state[RACY_FILES] = _still_racy(watched[RACY_FILES])
            state["paths"] = [str(p.resolve()) for p in paths]
            state.pop(PENDING, None)
            write_state(settings.data_dir, state)  # the switch: readers see the old index whole, or the new
        if local:
            snapshot.prune(settings.data_dir, settings.collection, [state.get(snapshot.STATE_KEY), previous])
    return report


@contextlib.contextmanager
def _disk_full_hint(data_dir: Path) -> Iterator[None]:
    """Chroma does not always say that the disk is full ("Failed to apply logs"); free space does."""
    try:
        yield
    except StoreError as exc:
        free = shutil.disk_usage(data_dir).free if data_dir.exists() else None
        if hint(str(exc)) is None and free is not None and free < LOW_SPACE_BYTES:
            raise StoreError(f"{exc}; the disk has only {free // 1024:,} KB free: {FULL}") from None
        raise


def made_by_other_code(settings: Settings) -> bool:
    """Whether the index was made by chunking code other than this (an older or newer kilde)."""
    return read_state(settings.data_dir).get(CHUNKER) != chunker_fingerprint()


def is_stale(settings: Settings, paths: Sequence[Path]) -> bool:
    """Whether any article file changed since the last complete ingest (cheap enough for every question)."""
    state = read_state(settings.data_dir)
    if state.get("corpus_fingerprint") != corpus_fingerprint(paths, settings):
        return True
    racy = state.get(RACY_FILES)
    return isinstance(racy, dict) and any(_content_hash(str(p)) != h for p, h in racy.items())
