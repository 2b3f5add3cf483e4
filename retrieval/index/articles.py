"""Reading articles: Markdown or plain text, with optional YAML front matter."""

from __future__ import annotations

import datetime as dt
import os
import re
import stat
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from retrieval.index.convert import CONVERTED_SUFFIXES, ArticleError

__all__ = [
    "CONVERTED_SUFFIXES",
    "MAX_ARTICLE_BYTES",
    "SUFFIXES",
    "Article",
    "ArticleError",
    "Problem",
    "find_files",
    "load_articles",
    "parse_article",
    "read_article",
    "read_file",
]

SUFFIXES = (".md", ".markdown", ".txt")
_FRONT_MATTER = re.compile(r"\A---[ \t]*\r?\n(.*?)\r?\n---[ \t]*(?:\r?\n|\Z)", re.DOTALL)
_HEADING = re.compile(r"^#{1,6}[ \t]+", re.MULTILINE)
_SUBHEADING = re.compile(r"^#{2,6}[ \t]+(.*)$", re.MULTILINE)  # "#" is the title, quotable; "##" a crosshead
# A converted PDF marks where each page starts with a line "<!-- page 3 -->" (see retrieval.index.convert).
_PAGE_MARKER = re.compile(r"^<!-- page (\d{1,5}) -->[ \t]*(?:\n+|\Z)", re.MULTILINE)
MAX_ARTICLE_BYTES = 20_000_000
MAX_FRONT_MATTER_CHARS = 64_000  # real front matter is a few hundred characters
MAX_FRONT_MATTER_VALUES = 10_000  # after YAML aliases are expanded
MAX_FRONT_MATTER_DEPTH = 64


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
    pages: tuple[tuple[int, int], ...] = ()  # (offset in text, page number) where each page of a PDF starts
    headings: frozenset[str] = frozenset()  # the text of its subheadings: read as context, never quoted as an answer

    def page_at(self, offset: int) -> int | None:
        """The page number of the text at `offset`, for an article converted from a PDF."""
        number = None
        for start, page in self.pages:
            if start > offset:
                break
            number = page
        return number

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
    keep: bool = (
        True  # whether the index keeps what it had for this file (not for a link that leaves the corpus)
    )

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def parse_article(path: Path, raw: bytes) -> Article:
    if not raw.strip():
        raise ArticleError("empty file")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ArticleError("UTF-16 text; save it as UTF-8")
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
        meta = _front_matter(match.group(1))
        text = text[match.end() :]
    elif text.startswith("---\n"):
        raise ArticleError("front matter is not closed by a '---' line")
    headings = frozenset(line.strip() for line in _SUBHEADING.findall(text)) - {""}
    body, pages = _page_starts(_HEADING.sub("", text).strip())
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
        pages=pages,
        headings=headings,
    )


def _page_starts(body: str) -> tuple[str, tuple[tuple[int, int], ...]]:
    """The body without its page marker lines, and where each page starts in it."""
    if "<!-- page " not in body:
        return body, ()
    parts: list[str] = []
    pages: list[tuple[int, int]] = []
    length = last = 0
    for match in _PAGE_MARKER.finditer(body):
        parts.append(body[last : match.start()])
        length += match.start() - last
        pages.append((length, int(match.group(1))))
        last = match.end()
    parts.append(body[last:])
    return "".join(parts).strip(), tuple(pages)


def read_article(path: Path, raw: bytes) -> Article:
    """An article from a file of any format kilde reads: web pages, PDF and Word files are converted first."""
    if path.suffix.lower() not in CONVERTED_SUFFIXES:
        return parse_article(path, raw)
    from retrieval.index.convert import convert  # each converter imports its library only when used

    if not raw.strip():
        raise ArticleError("empty file")
    return parse_article(path, convert(path.name, raw).to_markdown().encode())


class _FrontMatterLoader(yaml.SafeLoader):
    """SafeLoader that turns a value it cannot convert (`date: 2020-13-45`, `!!int xyz`) into a reason with a line."""

    def construct_object(self, node: yaml.Node, deep: bool = False) -> Any:
        try:
            return super().construct_object(node, deep)
        except (ArticleError, yaml.YAMLError):
            raise
        # ValueError, AttributeError, OverflowError, ...: PyYAML's converters raise whatever they hit.
        except Exception:
            kind = {"timestamp": "date"}.get(node.tag.rsplit(":", 1)[-1], node.tag.rsplit(":", 1)[-1])
            value = str(node.value)[:40] if isinstance(node, yaml.ScalarNode) else kind
            raise ArticleError(
                f"front matter line {node.start_mark.line + 2}: {value!r} is not a valid {kind}"
            ) from None


def _front_matter(source: str) -> dict[str, Any]:
    # Not python-frontmatter (measured in issue 12): it loads YAML with no bound on size, nesting or alias
    # expansion (a billion-laughs file grew to 6 GB) and failed 12 of our 33 edge tests.
    if len(source) > MAX_FRONT_MATTER_CHARS:
        raise ArticleError(f"front matter is longer than {MAX_FRONT_MATTER_CHARS:,} characters")
    if _flow_depth(source) > MAX_FRONT_MATTER_DEPTH:  # PyYAML's scanner is quadratic in it: refuse before
        raise ArticleError("front matter is nested too deeply")
    loader: _FrontMatterLoader | None = None
    try:
        loader = _FrontMatterLoader(source)  # may already raise: it checks the characters
        node = loader.get_single_node()
        if node is None:
            return {}
        # Aliases share one object, so loading is cheap; it is str() of the result that would expand a "billion
        # laughs" to gigabytes. Count what it would expand to before building anything.
        if _expanded_size(node, {}) > MAX_FRONT_MATTER_VALUES:
            raise ArticleError(
                f"front matter expands to more than {MAX_FRONT_MATTER_VALUES:,} values (YAML aliases)"
            )
        loaded = loader.construct_document(node)
    except yaml.reader.ReaderError as exc:
        raise ArticleError(
            f"front matter holds a character YAML does not allow ({exc.character!r})"
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        raise ArticleError(f"broken front matter{where}") from None
    except RecursionError:
        raise ArticleError("front matter is nested too deeply") from None
    finally:
        if loader is not None:
            loader.dispose()
    if not isinstance(loaded, dict):
        raise ArticleError("front matter is not a mapping of fields")
    return loaded


def _flow_depth(source: str) -> int:
    """The deepest nesting of [ and { (quotes ignored: it only needs to catch the absurd)."""
    depth = deepest = 0
    for char in source:
        if char in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in "]}":
            depth = max(depth - 1, 0)
    return deepest


_VISITING = -1


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many values `node` stands for with every alias written out (memoised, so linear in the YAML)."""
    known = sizes.get(id(node))
    if known == _VISITING:
        raise ArticleError("front matter refers to itself (a YAML alias inside its own anchor)")
    if known is not None:
        return known
    sizes[id(node)] = _VISITING
    size = 1
    if isinstance(node, yaml.SequenceNode):
        size += sum(_expanded_size(child, sizes) for child in node.value)
    elif isinstance(node, yaml.MappingNode):
        size += sum(_expanded_size(k, sizes) + _expanded_size(v, sizes) for k, v in node.value)
    sizes[id(node)] = size = min(size, MAX_FRONT_MATTER_VALUES + 1)
    return size


def _field(meta: dict[str, Any], key: str) -> str | None:
    value = meta.get(key)
    if value is None or value == "":
        return None
    if isinstance(value, dt.date):
        return value.isoformat()
    text = ", ".join(str(v) for v in value) if isinstance(value, list) else str(value).strip()
    # YAML's "\uD800" escape makes a lone surrogate, which no encoder (nor the index) accepts.
    return text.encode("utf-8", "replace").decode("utf-8")


def _first_line(body: str) -> str:
    line = body.split("\n", 1)[0].strip()
    return line[:120]


def find_files(paths: Iterable[Path]) -> list[Path]:
    """Article files under `paths` (and symbolic links to directories, so they can be reported)."""
    return [path for path, _root in _walk(paths)]


def _walk(paths: Iterable[Path]) -> Iterator[tuple[Path, Path]]:
    """(file, the corpus directory it must stay inside). Links to directories are not walked, only yielded."""
    for path in paths:
        if not path.is_dir():
            # Named on purpose, so any name goes; but a link named so may still not leave its folder.
            yield path, path.parent
            continue
        found: list[Path] = []
        for folder, dirs, files in os.walk(path):  # never follows links to directories: no loops, no escapes
            dirs[:] = [d for d in dirs if not d.startswith(".")]
            here = Path(folder)
            found += [here / d for d in dirs if (here / d).is_symlink()]
            found += [
                here / f
                for f in files
                if not f.startswith(".") and Path(f).suffix.lower() in SUFFIXES + CONVERTED_SUFFIXES
            ]
        yield from ((p, path) for p in sorted(found))


def read_file(path: Path, root: Path) -> bytes:
    """The bytes of `path`, if it (or what it links to) is a regular file inside `root`."""
    try:
        target = path.resolve(strict=True)
    except FileNotFoundError:
        raise ArticleError(
            "symbolic link to a missing file" if path.is_symlink() else "no such file"
        ) from None
    except RuntimeError:  # Python 3.11 resolve() on a link loop
        raise ArticleError("symbolic link loop") from None
    if target.is_dir():
        if target.is_relative_to(root.resolve()):
            raise _Skip  # its articles are read where they really are
        raise ArticleError("symbolic link to a directory outside the corpus; not followed", keep=False)
    if not target.is_relative_to(root.resolve()):
        raise ArticleError("symbolic link to a file outside the corpus; not read", keep=False)
    # O_NOFOLLOW: a file swapped for a link after the check is not followed; O_NONBLOCK: a FIFO cannot hang us.
    fd = os.open(target, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    with os.fdopen(fd, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise ArticleError("not a regular file")
        if info.st_size > MAX_ARTICLE_BYTES:
            raise ArticleError(f"larger than {MAX_ARTICLE_BYTES // 1_000_000} MB")
        raw = handle.read(MAX_ARTICLE_BYTES + 1)
    if len(raw) > MAX_ARTICLE_BYTES:
        raise ArticleError(f"larger than {MAX_ARTICLE_BYTES // 1_000_000} MB")
    return raw


class _Skip(Exception):
    """Not an article and not a problem."""


def load_articles(paths: Iterable[Path]) -> tuple[list[Article], list[Problem]]:
    """Every readable article under `paths`, and a problem for each file that is not.

    This is the one edge where a file becomes an article: whatever goes wrong with one file (including a bug in a
    library parsing it) becomes its problem line, and the other articles are still read.
    """
    articles: list[Article] = []
    problems: list[Problem] = []
    seen: dict[str, Path] = {}
    for path, root in _walk(paths):
        try:
            article = read_article(path, read_file(path, root))
        except _Skip:
            continue
        except ArticleError as exc:
            problems.append(Problem(path, str(exc), exc.keep))
            continue
        except OSError as exc:
            problems.append(Problem(path, exc.strerror or type(exc).__name__))
            continue
        except Exception as exc:  # the edge: one file must not take the others down
            problems.append(Problem(path, f"cannot be read ({type(exc).__name__})"))
            continue
        if article.doc_id in seen:
            problems.append(Problem(path, f"same document id as {seen[article.doc_id]}"))
            continue
        seen[article.doc_id] = path
        articles.append(article)
    return articles, problems
