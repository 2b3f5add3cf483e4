from pathlib import Path

import pytest

from retrieval.documents import ArticleError, load_articles, parse_article


def test_front_matter_fields(tmp_path: Path) -> None:
    raw = "---\ntitle: En titel\ndate: 2020-07-06\nauthor: A. Forfatter\nurl: https://example.org/a\n---\n\n## Mellemrubrik\n\nTekst her.\n"
    article = parse_article(tmp_path / "my-doc.md", raw.encode())
    assert article.doc_id == "my-doc"
    assert article.title == "En titel"
    assert article.date == "2020-07-06"
    assert article.author == "A. Forfatter"
    assert article.text == "Mellemrubrik\n\nTekst her."


def test_plain_text_takes_its_first_line_as_title(tmp_path: Path) -> None:
    article = parse_article(tmp_path / "note.txt", "Overskrift\n\nBrødtekst.".encode())
    assert article.title == "Overskrift"
    assert article.date is None


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b"", "empty file"),
        (b"   \n", "empty file"),
        (b"\x00\x01binary\x00", "binary"),
        ("Hej æøå".encode("latin-1"), "not UTF-8"),
        (b"---\ntitle: [unclosed\n---\nText", "broken front matter"),
        (b"---\ntitle: x\nText without end", "not closed"),
        (b"---\n- a\n- b\n---\nText", "not a mapping"),
        (b"---\ntitle: only\n---\n\n", "no article text"),
    ],
)
def test_bad_files_are_rejected_with_a_reason(tmp_path: Path, raw: bytes, reason: str) -> None:
    with pytest.raises(ArticleError, match=reason):
        parse_article(tmp_path / "bad.md", raw)


def test_load_articles_reports_problems_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "good.md").write_text("---\ntitle: God\n---\nTekst.")
    (tmp_path / "bad.md").write_bytes(b"\xff\xfe\x00garbage")
    (tmp_path / "ignored.pdf").write_bytes(b"%PDF")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "good.txt").write_text("Same stem twice.")
    articles, problems = load_articles([tmp_path])
    assert [a.doc_id for a in articles] == ["good"]
    reasons = {p.path.name: p.reason for p in problems}
    assert set(reasons) == {"bad.md", "good.txt"}
    assert "same document id" in reasons["good.txt"]
