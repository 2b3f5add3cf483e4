"""Articles as people have them (web pages, PDFs, Word files, scraped text) turned into one Markdown article.

Every format ends in the same `Converted` record, saved as Markdown with YAML front matter (`to_markdown`) and read
back by `retrieval.index.articles.parse_article`, so each becomes the same `Article` with the same facts. The heavy
libraries (trafilatura, pypdf, python-docx) are imported only when a file of their kind is converted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

__all__ = ["CONVERTED_SUFFIXES", "ArticleError", "Converted", "convert", "kind_of", "slug"]

# Formats read through a converter; Markdown and plain text are read as they are (`articles.SUFFIXES`).
CONVERTED_SUFFIXES = (".html", ".htm", ".xhtml", ".pdf", ".docx")


class ArticleError(ValueError):
    """Why a file holds no article kilde can read (one line); `keep`: the index keeps what it had for it."""

    def __init__(self, reason: str, keep: bool = True) -> None:
        super().__init__(reason)
        self.keep = keep


PAGE_MARKER = (
    "<!-- page {} -->"  # a line of its own before each page of a PDF; invisible when Markdown is shown
)


@dataclass(frozen=True)
class Converted:
    """One article out of a file or page: body text (paragraphs split by blank lines) and its facts."""

    title: str
    body: str
    publisher: str | None = None
    date: str | None = None
    author: str | None = None
    url: str | None = None
    source_file: str | None = None  # the original file name, kept in the front matter
    extra: dict[str, str] = field(default_factory=dict)
    markdown: str | None = None  # a Markdown article with front matter already: saved as its author wrote it

    def to_markdown(self) -> str:
        if self.markdown is not None:
            return self.markdown
        facts: dict[str, str] = {"title": self.title}
        for key in ("publisher", "date", "author", "url", "source_file"):
            value = getattr(self, key)
            if value:
                facts[key] = value
        facts.update(self.extra)
        # yaml.safe_dump quotes whatever needs it (a title with ': ' or a leading '#'), so the file reads back.
        front = yaml.safe_dump(facts, allow_unicode=True, sort_keys=False, width=10_000).strip()
        return f"---\n{front}\n---\n\n{self.body.strip()}\n"


def kind_of(name: str, data: bytes, content_type: str | None = None) -> str:
    """'html', 'pdf', 'docx', 'markdown' or 'text': by content type, then by file name, then by the bytes."""
    ctype = (content_type or "").split(";", 1)[0].strip().lower()
    by_type = {
        "text/html": "html",
        "application/xhtml+xml": "html",
        "application/pdf": "pdf",
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "docx",
        "text/markdown": "markdown",
        "text/x-markdown": "markdown",
        "text/plain": "text",
    }
    if ctype in by_type:
        return by_type[ctype]
    suffix = name.rsplit(".", 1)[-1].lower() if "." in name else ""
    by_suffix = {
        "html": "html",
        "htm": "html",
        "xhtml": "html",
        "pdf": "pdf",
        "docx": "docx",
        "md": "markdown",
        "markdown": "markdown",
        "txt": "text",
    }
    if suffix in by_suffix:
        return by_suffix[suffix]
    head = data[:1024].lstrip().lower()
    if head.startswith(b"%pdf-"):
        return "pdf"
    if head.startswith(b"pk\x03\x04"):
        return "docx"
    if head.startswith((b"<!doctype html", b"<html")) or b"<body" in data[:4096].lower():
        return "html"
    if suffix in ("doc", "odt", "rtf", "epub", "pptx", "xlsx", "png", "jpg", "jpeg", "gif", "zip", "json"):
        raise ArticleError(
            f"a .{suffix} file is not an article format kilde reads (HTML, PDF, DOCX, Markdown, text)"
        )
    return "text"


def convert(name: str, data: bytes, url: str | None = None, content_type: str | None = None) -> Converted:
    """The article in `data` (a file called `name`, or the page at `url`); ArticleError with a reason if none."""
    kind = kind_of(name, data, content_type)
    source_file = None if url else name
    if kind == "html":
        from retrieval.index.convert.web import convert_html

        return convert_html(data, url, source_file)
    if kind == "pdf":
        from retrieval.index.convert.pdf import convert_pdf

        return convert_pdf(data, url, source_file)
    if kind == "docx":
        from retrieval.index.convert.word import convert_docx

        return convert_docx(data, url, source_file)
    from retrieval.index.convert.scraped import convert_text

    return convert_text(data, url, source_file, markdown=kind == "markdown")


_FOLD = str.maketrans({"æ": "ae", "ø": "oe", "å": "aa", "ß": "ss", "þ": "th", "ð": "d", "ł": "l"})


def slug(title: str, limit: int = 60) -> str:
    """A file name (and so a document id) from a title: 'Kim Them Serup går …' -> 'kim-them-serup-gaar'."""
    import unicodedata

    folded = unicodedata.normalize("NFKD", title.lower().translate(_FOLD))
    ascii_only = folded.encode("ascii", "ignore").decode()
    words = re.findall(r"[a-z0-9]+", ascii_only)
    name = ""
    for word in words:
        if len(name) + len(word) + 1 > limit:
            break
        name = f"{name}-{word}" if name else word
    return name or (words[0][:limit] if words else "article")
