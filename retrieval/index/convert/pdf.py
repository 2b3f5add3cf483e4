"""PDF files with a text layer, page by page: each page starts with a `<!-- page N -->` line, so a citation can say
which page its passage is on.

pypdf, measured against pdfplumber and PyMuPDF on benchmarks/cleaning/raw/da_rapport.pdf: the same words in the
same order from all three (pypdf keeps a justified line's double spaces, which we collapse); pypdf is pure Python
with a BSD licence, while PyMuPDF is AGPL and took 3.7 s to import and read here (pypdf 0.9 s, pdfplumber 0.5 s, but
pdfplumber brings pdfminer.six and a pdfium binary). Paragraphs are rebuilt from lines as readers see them: a line
that ends a sentence well short of the page's longest line ends its paragraph.
"""

from __future__ import annotations

import io
import logging
import re
from collections import Counter

from retrieval.index.convert import PAGE_MARKER, ArticleError, Converted
from retrieval.index.convert.dates import parse_date

MAX_PAGES = 2000
MIN_WORDS = 20
_PAGE_NUMBER = re.compile(
    r"^(?:(?:side|page|seite|sida|pagina)\s*)?[-–(]?\s*\d{1,4}\s*(?:(?:af|of|von|av|/|de)\s*\d{1,4})?\s*[-–)]?$",
    re.IGNORECASE,
)


def convert_pdf(data: bytes, url: str | None, source_file: str | None) -> Converted:
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    # pypdf logs each flaw of a broken file as a warning; the one-line reason below says what matters.
    logging.getLogger("pypdf").setLevel(logging.ERROR)

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not _decrypted(reader):
            raise ArticleError("the PDF is encrypted with a password; save a copy without one and add that")
        if len(reader.pages) > MAX_PAGES:
            raise ArticleError(f"more than {MAX_PAGES} pages")
        pages = [_lines(page.extract_text() or "") for page in reader.pages]
        info = reader.metadata
    except PyPdfError as exc:
        raise ArticleError(
            f"not a readable PDF ({str(exc).splitlines()[0][:80] if str(exc) else type(exc).__name__})"
        ) from None
    running = _running_lines(pages)
    pages = [
        [line for line in page if _key(line) not in running and not _PAGE_NUMBER.match(line)]
        for page in pages
    ]
    words = sum(len(re.findall(r"\w+", line)) for page in pages for line in page)
    if words < MIN_WORDS:
        raise ArticleError("the PDF has no text layer (a scanned document?); kilde reads text, not images")
    title = (str(info.title).strip() if info and info.title else "") or _first_line(pages)
    parts: list[str] = []
    for number, lines in enumerate(pages, 1):
        paragraphs = _paragraphs(lines)
        if number == 1 and paragraphs and _same(paragraphs[0], title):
            paragraphs = paragraphs[1:]
        if paragraphs:
            parts.append(PAGE_MARKER.format(number))
            parts.extend(paragraphs)
    created = None
    if info is not None:
        try:
            created = info.creation_date
        except (ValueError, TypeError):  # a malformed date string in the PDF's info
            created = None
    return Converted(
        title=title,
        body="\n\n".join(parts),
        author=str(info.author).strip() if info and info.author else None,
        publisher=_publisher(running, title),
        date=parse_date(created.date().isoformat()) if created else None,
        url=url,
        source_file=source_file,
    )


def _decrypted(reader: object) -> bool:
    """Many PDFs are 'encrypted' with an empty user password only to set permissions: those open."""
    try:
        return bool(reader.decrypt(""))  # type: ignore[attr-defined]
    except Exception:  # pypdf raises several kinds (unsupported algorithm, missing cryptography package)
        return False


def _lines(text: str) -> list[str]:
    return [re.sub(r"\s+", " ", line).strip() for line in text.split("\n") if line.strip()]


def _key(line: str) -> str:
    return re.sub(r"\d+", "#", line.casefold())


def _running_lines(pages: list[list[str]]) -> dict[str, str]:
    """Headers and footers: lines (numbers aside) on at least half the pages; {key: the line as first seen}."""
    if len(pages) < 2:
        return {}
    counts = Counter(k for page in pages for k in {_key(line) for line in page})
    first = {_key(line): line for page in reversed(pages) for line in page}
    return {k: first[k] for k, n in counts.items() if n >= max(2, len(pages) / 2)}


def _publisher(running: dict[str, str], title: str) -> str | None:
    """'Center for Frivilligt Arbejde · Evaluering af …': a running header that names the title names its sender."""
    for line in running.values():
        if title and title.casefold() in line.casefold():
            rest = re.sub(re.escape(title), "", line, flags=re.IGNORECASE).strip(" ·|–—-:,")
            if rest and len(rest) <= 80 and not re.fullmatch(r"[\d\s/.-]*", rest):
                return rest
    return None


def _paragraphs(lines: list[str]) -> list[str]:
    if not lines:
        return []
    longest = max(len(line) for line in lines)
    paragraphs: list[str] = []
    current = ""
    for line in lines:
        if current.endswith("-") and line[:1].islower() and current[-2:-1].isalpha():
            current = current[:-1] + line  # a word hyphenated at the end of a line
        else:
            current = f"{current} {line}".strip()
        if len(line) < 0.8 * longest and (
            line.endswith((".", "!", "?", ":", "”", '"')) or len(line) < 0.5 * longest
        ):
            paragraphs.append(current)
            current = ""
    if current:
        paragraphs.append(current)
    return paragraphs


def _first_line(pages: list[list[str]]) -> str:
    for page in pages:
        if page:
            return page[0][:200]
    return "untitled"


def _same(a: str, b: str) -> bool:
    return re.sub(r"\W+", " ", a.casefold()).strip() == re.sub(r"\W+", " ", b.casefold()).strip()
