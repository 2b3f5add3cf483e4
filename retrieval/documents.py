"""Reading articles: Markdown or plain text, with optional YAML front matter."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

SUFFIXES = (".md", ".markdown", ".txt")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)
MAX_ARTICLE_BYTES = 20_000_000


@dataclass(frozen=True)
class Article:
    doc_id: str
    path: Path
    text: str  # the body, as indexed; chunk offsets point into it
    title: str
    publisher: str | None = None
    date: str | None = None
    author: str | None = None
    url: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def metadata(self) -> dict[str, str]:
        """Fields stored with every chunk (Chroma takes no None values)."""
        meta = {"doc_id": self.doc_id, "title": self.title}
        for key in ("publisher", "date", "author", "url"):
            value = getattr(self, key)
            if value:
                meta[key] = value
        return meta


@dataclass(frozen=True)
class Problem:
    path: Path
    reason: str

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


class ArticleError(ValueError):
    pass


def parse_article(path: Path, raw: bytes) -> Article:
    if not raw.strip():
        raise ArticleError("empty file")
    if b"\x00" in raw[:8192]:
        raise ArticleError("binary file, not text")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ArticleError(f"not UTF-8 (byte {exc.start})") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    meta: dict[str, Any] = {}
    match = _FRONT_MATTER.match(text)
    if match:
        try:
            loaded = yaml.safe_load(match.group(1))
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 2}" if mark is not None else ""
            raise ArticleError(f"broken front matter{where}") from None
        if loaded is not None and not isinstance(loaded, dict):
            raise ArticleError("front matter is not a mapping of fields")
        meta = loaded or {}
        text = text[match.end() :]
    elif text.startswith("---\n"):
        raise ArticleError("front matter is not closed by a '---' line")
    body = _HEADING.sub("", text).strip()
    if not body:
        raise ArticleError("no article text")
    title = _field(meta, "title") or _first_line(body) or path.stem
    return Article(
        doc_id=path.stem,
        path=path,
        text=body,
        title=title,
        publisher=_field(meta, "publisher"),
        date=_field(meta, "date"),
        author=_field(meta, "author"),
        url=_field(meta, "url"),
    )


def _field(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value).strip()


def _first_line(body: str) -> str:
    line = body.split("\n", 1)[0].strip()
    return line[:120]


def find_files(paths: Iterable[Path]) -> list[Path]:
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            found.extend(
                p
                for p in sorted(path.rglob("*"))
                if p.is_file()
                and p.suffix.lower() in SUFFIXES
                and not any(part.startswith(".") for part in p.relative_to(path).parts)
            )
        else:
            found.append(path)
    return found


def load_articles(paths: Iterable[Path]) -> tuple[list[Article], list[Problem]]:
    """Every readable article under `paths`, and a problem for each file that is not."""
    articles: list[Article] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for path in find_files(paths):
        try:
            if not path.exists():
                raise ArticleError("no such file or directory")
            if path.stat().st_size > MAX_ARTICLE_BYTES:
                raise ArticleError(f"larger than {MAX_ARTICLE_BYTES // 1_000_000} MB")
            article = parse_article(path, path.read_bytes())
        except ArticleError as exc:
            problems.append(Problem(path, str(exc)))
            continue
        except OSError as exc:
            problems.append(Problem(path, exc.strerror or type(exc).__name__))
            continue
        if article.doc_id in seen:
            problems.append(Problem(path, f"same document id as {seen[article.doc_id]}"))
            continue
        seen[article.doc_id] = path
        articles.append(article)
    return articles, problems
