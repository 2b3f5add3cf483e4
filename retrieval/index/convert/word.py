"""Word files (.docx) through python-docx: paragraphs, headings as `##` lines, title, author and date from the
document's properties. docx2txt, the other candidate, gives only the text: no headings, no properties.

A .docx is a zip archive: its sizes are checked before anything is unpacked, so a small file that would expand
to gigabytes (a zip bomb) is refused.
"""

from __future__ import annotations

import io
import zipfile

from retrieval.index.convert import ArticleError, Converted

MAX_UNPACKED_BYTES = 100_000_000  # a long report with images is a few MB; the text part far less
MAX_RATIO = 200  # compressed XML shrinks about 10x; a bomb shrinks thousands of times
MAX_MEMBERS = 5000
MIN_WORDS = 20


def check_archive(data: bytes) -> None:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile:
        raise ArticleError("not a .docx file (an old .doc? save it as .docx)") from None
    with archive:
        members = archive.infolist()
        if len(members) > MAX_MEMBERS:
            raise ArticleError(f"the .docx holds more than {MAX_MEMBERS} parts")
        total = sum(m.file_size for m in members)
        if total > MAX_UNPACKED_BYTES:
            raise ArticleError(f"the .docx would unpack to {total / 1e6:,.0f} MB (a zip bomb?); refused")
        for member in members:
            if member.file_size > 1_000_000 and member.file_size > MAX_RATIO * max(member.compress_size, 1):
                raise ArticleError(
                    f"{member.filename} in the .docx is compressed {member.file_size // max(member.compress_size, 1):,} times (a zip bomb?); refused"
                )
        if "word/document.xml" not in archive.namelist():
            raise ArticleError("not a Word document (no word/document.xml)")


def convert_docx(data: bytes, url: str | None, source_file: str | None) -> Converted:
    import docx
    from docx.opc.exceptions import PackageNotFoundError

    check_archive(data)
    try:
        document = docx.Document(io.BytesIO(data))
    except (PackageNotFoundError, KeyError, ValueError, zipfile.BadZipFile) as exc:
        raise ArticleError(f"not a readable .docx ({type(exc).__name__})") from None
    props = document.core_properties
    paragraphs: list[str] = []
    for paragraph in document.paragraphs:
        text = " ".join(paragraph.text.split())
        if not text:
            continue
        style = (paragraph.style.name if paragraph.style is not None else "") or ""
        if style.lower().startswith(("heading", "overskrift", "title", "titel")):
            paragraphs.append(f"## {text}")
        else:
            paragraphs.append(text)
    title = (props.title or "").strip()
    if not title and paragraphs and paragraphs[0].startswith("## "):
        title = paragraphs[0][3:]
    if paragraphs and title and paragraphs[0].lstrip("# ").strip() == title:
        paragraphs = paragraphs[1:]
    if sum(len(p.split()) for p in paragraphs) < MIN_WORDS:
        raise ArticleError("no article text in the document")
    date = props.created.date().isoformat() if props.created else None
    return Converted(
        title=title or (source_file or "untitled").rsplit(".", 1)[0],
        body="\n\n".join(paragraphs),
        author=(props.author or "").strip() or None,
        date=date,
        url=url,
        source_file=source_file,
    )
