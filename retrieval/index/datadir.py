"""Failures of the data directory (read-only, full disk, damaged files) as one line that says how to recover."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

from retrieval.errors import StoreError

REBUILD = "run `kilde ingest --rebuild` to move the damaged files aside and index again"
FULL = "free some space on that disk, then run the command again"
READ_ONLY = (
    "questions still work; to update the index make the data directory writable or use another (--data-dir)"
)
_DAMAGED = ("malformed", "not a database", "file is encrypted", "corrupt", "database disk image")


def hint(detail: str, error: BaseException | None = None) -> str | None:
    """How to recover from a failure described by `detail` (and `error`), or None when there is no known way."""
    code = error.errno if isinstance(error, OSError) else None
    low = detail.lower()
    if code in (errno.ENOSPC, errno.EDQUOT) or "disk is full" in low or "no space left" in low:
        return FULL
    if code in (errno.EROFS, errno.EACCES, errno.EPERM) or "readonly" in low or "read-only" in low:
        return READ_ONLY
    if any(word in low for word in _DAMAGED):
        return REBUILD
    return None


def explain(what: str, error: BaseException) -> str:
    """`what: detail; how to recover` in one line."""
    if isinstance(error, OSError) and error.strerror:
        detail = error.strerror + (f": {error.filename}" if error.filename else "")
    else:
        text = str(error).strip()
        detail = text.splitlines()[0][:300] if text else type(error).__name__
    advice = hint(detail, error)
    return f"{what}: {detail}" + (f"; {advice}" if advice else "")


@contextlib.contextmanager
def data_dir_errors(what: str) -> Iterator[None]:
    """Turn a file or SQLite failure into one StoreError line (other exceptions pass: they are bugs)."""
    try:
        yield
    except (OSError, sqlite3.Error) as exc:
        raise StoreError(explain(what, exc)) from None


def is_writable(data_dir: Path) -> bool:
    return not data_dir.exists() or os.access(data_dir, os.W_OK)


@contextlib.contextmanager
def fresh_directory(path: Path) -> Iterator[Path]:
    """A new directory to fill, swapped in for `path` when the block ends without error: a reader sees the old
    directory, the new one, or none, never half of one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = path.with_name(f".{path.name}.{os.getpid()}.new")
    shutil.rmtree(fresh, ignore_errors=True)
    fresh.mkdir()
    try:
        yield fresh
        old = path.with_name(f".{path.name}.{os.getpid()}.old")
        shutil.rmtree(old, ignore_errors=True)
        if path.exists():
            path.replace(old)
        fresh.replace(path)
        shutil.rmtree(old, ignore_errors=True)
    finally:
        shutil.rmtree(fresh, ignore_errors=True)
