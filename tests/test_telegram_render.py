"""The Telegram bot's pure formatting: HTML answers, escaping, and splitting long messages."""

from __future__ import annotations

import random
import re
from html.parser import HTMLParser

import pytest

from bot.telegram.render import (
    MAX_MESSAGE,
    answer_html,
    answer_plain,
    html_to_plain,
    safe_url,
    sources_html,
    split_message,
    start_html,
    ui_language,
    utf16_len,
)
from retrieval.types import Answer, Citation, DocumentInfo

ALLOWED_TAGS = {"a", "b", "i", "blockquote", "code"}


def citation(
    n: int, url: str | None = "https://example.org/a", title: str = "Titel", quote: str = "Citat."
) -> Citation:
    return Citation(n, f"doc{n}", f"chunk{n}", title, "2019-01-02", url, quote)


def answer(text: str, *citations: Citation, language: str = "da", refused: bool = False) -> Answer:
    return Answer("q", text, refused, language, list(citations))  # type: ignore[arg-type]


class Balanced(HTMLParser):
    """Fails on what Telegram's HTML parser rejects: unbalanced tags and unknown ones."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.text = ""

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        assert tag in ALLOWED_TAGS, tag
        self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        assert self.stack and self.stack[-1] == tag, f"unbalanced </{tag}> after {self.stack}"
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        self.text += data


def visible(markup: str) -> str:
    parser = Balanced()
    parser.feed(markup)
    parser.close()
    assert not parser.stack, f"unclosed {parser.stack}"
    assert not re.search(r"<[^>]*$|&#?\w*$", markup), "a tag or an entity was cut"
    return parser.text


def check_parts(original: str, parts: list[str], limit: int = MAX_MESSAGE) -> None:
    """Every part fits, is valid HTML on its own, and together they say exactly what the original said."""
    assert parts
    for part in parts:
        assert utf16_len(part) <= limit, utf16_len(part)
        assert visible(part).strip()
    assert _squash("".join(visible(p) for p in parts)) == _squash(visible(original))


def _squash(value: str) -> str:
    return re.sub(r"\s+", "", value)  # whitespace at a cut is dropped


# -- answers ----------------------------------------------------------------------------------------------------


def test_citation_markers_link_to_their_source_and_everything_else_is_escaped() -> None:
    a = answer(
        "Prisen steg <10 % & faldt [1]. Ukendt [3]. Uden link [2].",
        citation(1, "https://example.org/?a=1&b=2", title="R&D <nyt>"),
        citation(2, None),
    )
    out = answer_html(a)
    assert out.startswith(
        'Prisen steg &lt;10 % &amp; faldt <a href="https://example.org/?a=1&amp;b=2">[1]</a>. '
    )
    assert "Ukendt [3]." in out and "Uden link [2]." in out
    assert "<b>Kilder</b>" in out
    assert "[1] R&amp;D &lt;nyt&gt; · 2019-01-02 · " in out
    assert "[2] Titel · 2019-01-02" in out
    assert visible(out).startswith("Prisen steg <10 % & faldt [1].")


def test_only_web_urls_become_links() -> None:
    assert safe_url("javascript:alert(1)") is None
    assert safe_url('https://x.org/"><script>') is None
    assert safe_url("ftp://x.org/f") is None
    assert safe_url("https://x.dk/æble") == "https://x.dk/%C3%A6ble"
    out = answer_html(answer("Farligt [1].", citation(1, "javascript:alert(1)")))
    assert "<a " not in out and "javascript" not in out


def test_english_answers_are_headed_sources_and_refusals_are_bare() -> None:
    assert "<b>Sources</b>" in answer_html(answer("It grew [1].", citation(1), language="en"))
    refusal = answer("Det står ikke i artiklerne <her>.", refused=True)
    assert answer_html(refusal) == "Det står ikke i artiklerne &lt;her&gt;."
    assert answer_plain(refusal) == "Det står ikke i artiklerne <her>."


def test_plain_answer_has_the_same_content_without_markup() -> None:
    a = answer("A & B [1].", citation(1, "https://example.org/a", title="T<1>"))
    assert answer_plain(a) == "A & B [1].\n\nKilder\n[1] T<1> · 2019-01-02 · https://example.org/a"
    assert html_to_plain(answer_html(a)) == answer_plain(a)


def test_sources_quote_each_passage_escaped() -> None:
    out = sources_html([citation(1, quote="<b>fed</b> & mere"), citation(2, None, quote="Andet.")], "da")
    assert "<b>[1] Titel</b> · 2019-01-02\n<blockquote>&lt;b&gt;fed&lt;/b&gt; &amp; mere</blockquote>" in out
    assert "\n\n<b>[2] Titel</b>" in out
    visible(out)
    assert sources_html([], "en") == "That answer had no sources."


def test_start_counts_and_names_the_articles() -> None:
    docs = [DocumentInfo(f"d{n}", f"Artikel <{n}>", None, None) for n in range(25)]
    out = start_html(docs, "da")
    assert out.startswith("Hej! Jeg svarer på spørgsmål ud fra 25 artikler")
    assert "• Artikel &lt;0&gt;" in out and "Artikel &lt;20&gt;" not in out
    assert "… og 5 flere." in out
    visible(out)


@pytest.mark.parametrize(
    ("code", "expected"),
    [("da", "da"), ("nb", "da"), ("sv-SE", "da"), ("en", "en"), ("de", "en"), (None, "da")],
)
def test_ui_language(code: str | None, expected: str) -> None:
    assert ui_language(code) == expected


def test_utf16_length_counts_emoji_twice() -> None:
    assert utf16_len("æøå") == 3
    assert utf16_len("😀") == 2


# -- splitting --------------------------------------------------------------------------------------------------


def test_short_messages_are_one_part_and_empty_ones_none() -> None:
    assert split_message("  Hej  ") == ["Hej"]
    assert split_message(" \n ") == []
    assert split_message("x" * MAX_MESSAGE) == ["x" * MAX_MESSAGE]


def test_a_5000_character_answer_is_cut_at_the_last_paragraph_that_fits() -> None:
    paragraphs = [f"Afsnit {n}: " + "ord " * 120 for n in range(10)]  # about 500 characters each
    text = "\n\n".join(p.strip() for p in paragraphs)
    assert 4900 < len(text) < 5100
    parts = split_message(text)
    assert len(parts) == 2
    assert parts[0] == "\n\n".join(p.strip() for p in paragraphs[:8])
    assert parts[1] == "\n\n".join(p.strip() for p in paragraphs[8:])


def test_a_5000_character_paragraph_without_any_break_is_cut_hard() -> None:
    text = "x" * 5000
    assert split_message(text) == ["x" * 4096, "x" * 904]
    assert split_message(text, is_html=False) == ["x" * 4096, "x" * 904]


def test_a_5000_character_paragraph_is_cut_after_a_sentence() -> None:
    text = " ".join(f"Sætning nummer {n} handler om jobcentre." for n in range(140))
    assert len(text) > 5000 and "\n" not in text
    parts = split_message(text)
    assert len(parts) == 2
    assert parts[0].endswith("jobcentre.") and len(parts[0]) > 4000
    assert " ".join(parts) == text


def test_line_breaks_beat_spaces_and_spaces_beat_hard_cuts() -> None:
    lines = "\n".join("linje " * 10 for _ in range(100))
    parts = split_message(lines, limit=300)
    assert all(p.endswith("linje") and not p.startswith(" ") for p in parts)
    assert "\n".join(parts).replace(" \n", "\n") == lines.strip().replace(" \n", "\n")
    words = "ord " * 200
    assert all(len(p) <= 50 and not p.endswith(" ") for p in split_message(words, limit=50))


@pytest.mark.parametrize("offset", range(-45, 10))
def test_tags_and_entities_near_the_boundary_are_never_cut(offset: int) -> None:
    link = '<a href="https://example.org/kilde?a=1&amp;b=2">[12]</a>'
    head = "x" * (MAX_MESSAGE + offset)
    text = f"{head}{link}&amp;&lt;<b>fed tekst</b> slut."
    parts = split_message(text)
    check_parts(text, parts)
    assert any(link in p for p in parts)  # the link is whole in one part
    assert all(p.count("&") == p.count(";") for p in parts)


def test_a_cut_inside_an_element_closes_and_reopens_it() -> None:
    quote = "<blockquote>" + " ".join(f"Ord{n}" for n in range(2000)) + "</blockquote>"
    text = f"<b>[1] Titel</b>\n{quote}\n\n<b>[2] Andet</b>"
    parts = split_message(text)
    check_parts(text, parts)
    assert len(parts) >= 3
    assert parts[1].startswith("<blockquote>Ord") and parts[1].endswith("</blockquote>")
    assert parts[-1].endswith("<b>[2] Andet</b>")


def test_no_part_ends_with_an_empty_element() -> None:
    text = "y" * 4090 + "<b>fed</b> og mere tekst"
    parts = split_message(text)
    check_parts(text, parts)
    assert not any(re.search(r"<(\w+)[^>]*></\1>", p) for p in parts)


def test_the_limit_counts_utf16_units() -> None:
    text = "😀" * 3000  # 6000 UTF-16 units
    parts = split_message(text)
    assert [utf16_len(p) for p in parts] == [4096, 1904]
    assert "".join(parts) == text


def test_plain_text_is_not_parsed_as_html() -> None:
    text = "a < b & c > d " * 600
    parts = split_message(text, is_html=False)
    assert all(len(p) <= MAX_MESSAGE for p in parts)
    assert " ".join(parts) == text.strip()


def test_random_markup_always_splits_into_valid_parts() -> None:
    rng = random.Random(20261123)
    pieces = [
        "ord", "længere ord", "&amp;", "&lt;x&gt;", "[1]", '<a href="https://e.org/?q=1&amp;r=2">[3]</a>',
        "<b>fed tekst her</b>", "\n", "\n\n", ". ", "😀", "<blockquote>citat " + "bla " * 80 + "</blockquote>",
    ]  # fmt: skip
    for _ in range(40):
        text = " ".join(rng.choice(pieces) for _ in range(rng.randint(100, 800)))
        limit = rng.choice([200, 700, MAX_MESSAGE])
        check_parts(text, split_message(text, limit=limit), limit)
