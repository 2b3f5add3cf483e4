"""Plain text and Markdown: as they are when clean; scraped text (menus, banners, repeated leads) cleaned."""

from __future__ import annotations

from pathlib import Path

from retrieval.index.articles import FRONT_MATTER, ArticleError, parse_article
from retrieval.index.convert import Converted


def decode(data: bytes) -> str:
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16").replace("\r\n", "\n").replace("\r", "\n")
    if b"\x00" in data[:8192]:
        raise ArticleError("binary file, not text")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    return text.replace("\r\n", "\n").replace("\r", "\n")


def convert_text(data: bytes, url: str | None, source_file: str | None, markdown: bool = False) -> Converted:
    text = decode(data)
    match = FRONT_MATTER.match(text)
    if match:  # an article with front matter already: kept as its author wrote it
        article = parse_article(Path(source_file or "article.md"), text.encode())
        return Converted(
            title=article.title,
            body=text[match.end() :],
            publisher=article.publisher,
            date=article.date,
            author=article.author,
            url=article.url or url,
            source_file=source_file,
        )
    body = text.strip()
    if not body:
        raise ArticleError("no article text")
    title = body.split("\n", 1)[0].lstrip("# ").strip()[:200]
    return Converted(title=title, body=body, url=url, source_file=source_file)
