"""What `analyse` reads from a question, once per question: language, the kind of value asked for, its names and
numbers, and whether it asks about the article itself (its metadata)."""

from __future__ import annotations

import pytest

from retrieval.answering.lexicon import lexicon
from retrieval.answering.question import analyse, with_context


@pytest.mark.parametrize(
    "question",
    [
        "When did KL publish the piece about the citizens?",
        "When was the article updated?",
        "Hvornår udgav KL artiklen om borgerne?",
        "Hvornår blev artiklen publiceret?",
        "Hvornår udkom HK Kommunals artikel om velfærdskommunerne?",
    ],
)
def test_a_question_about_an_articles_date_is_told_by_any_form_of_the_verb(question: str) -> None:
    assert analyse(question).meta_fields == ("date",)


@pytest.mark.parametrize("question", ["Hvornår blev aftalen indgået?", "When was the agreement published?"])
def test_a_date_question_that_names_no_article_is_about_the_subject(question: str) -> None:
    assert analyse(question).meta_fields == ()


def test_where_was_the_article_published_asks_for_the_outlet() -> None:
    assert analyse("Hvor blev artiklen udgivet?").meta_fields == ("publisher",)


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("Who paid for the stadium?", "person"),  # the cue nearest the start decides, not "paid"
        ("Hvor lang bliver badebroen?", "number"),  # not a where-question
        ("Hvor ligger badebroen?", "place"),
        ("Hvor gammel er Kim Them Serup?", "age"),
        ("How old is Kim Them Serup?", "age"),
        ("Hvilke fire kommuner er med?", "list"),
        ("Hvor mange penge fik de?", "number"),
        ("Hvad laver hun?", "any"),
    ],
)
def test_the_kind_of_value_asked_for(question: str, kind: str) -> None:
    assert analyse(question).kind == kind


def test_names_numbers_and_number_words_of_a_question() -> None:
    q = analyse("Hvor mange kommuner fik midler i 2019 fra Flere Skal Med?")
    assert q.values == {"2019"}
    assert {"flere", "skal", "med"} <= set(q.names)
    assert analyse("Hvad skete der med to af kommunerne?").values == {"2"}  # "to" is a number in Danish
    assert analyse("What happened to the towns?").values == frozenset()  # ... not in English


@pytest.mark.parametrize(
    ("question", "items", "values", "lemmas"),
    [
        ("Hvilke fire kommuner er med i forsøget?", 4, set(), ("kommune", "forsøg")),
        ("What are the three goals of the plan?", 3, set(), ("goal", "plan")),
        ("Which two companies bid 5 million?", 2, {"5", "1000000"}, ("company", "bid", "5", "million")),
        ("Hvilke kommuner er udvalgt?", 0, set(), ("kommune", "udvælge")),
    ],
)
def test_the_count_a_list_question_asks_for_is_no_value_or_word_to_find(
    question: str, items: int, values: set[str], lemmas: tuple[str, ...]
) -> None:
    q = analyse(question)
    assert (q.items, set(q.values), q.lemmas) == (items, values, lemmas)


def test_a_follow_up_takes_the_names_the_conversation_carried() -> None:
    q = with_context(analyse("Hvad sagde han om benchmarking?"), "Troels Lund Poulsen")
    assert {"troels", "lund", "poulsen"} <= set(q.names)
    assert "benchmarking" in q.lemmas


@pytest.mark.parametrize(
    ("language", "text", "kind", "value"),
    [
        ("da", "Det koster 1,2 mio. kr. at bygge", "money", "1.2"),
        ("da", "Hver fjerde borger er ledig", "number", "0.25"),
        ("da", "Det tager halvandet år", "number", "1.5"),
        ("da", "Prisen er 450.000 kroner", "money", "450000"),
        ("da", "Den 3. marts 2025 åbner den", "date", "3"),
        ("en", "The club lost £24m last year", "money", "24"),
        ("en", "A quarter of the fans left", "number", "0.25"),
        ("en", "It rose 14 per cent", "share", "14"),
    ],
)
def test_values_in_text_with_units_and_number_words(language: str, text: str, kind: str, value: str) -> None:
    assert value in lexicon(language).values(text).get(kind, set())  # type: ignore[arg-type]


def test_may_the_verb_is_no_date_but_may_the_month_is() -> None:
    assert "date" not in lexicon("en").values("It may rain.")
    assert "date" in lexicon("en").values("It rained in May.")


def test_a_list_question_asking_for_four_wants_a_sentence_listing_four() -> None:
    from retrieval.answering.features import _has_kind
    from retrieval.text import words

    def lists(question: str, text: str) -> float:
        return _has_kind(analyse(question), lexicon("en").values(text), frozenset(words(text)), text)

    three = "Hillerød, Greve and Silkeborg were chosen."
    four = "Hillerød, Greve, Silkeborg and Aabenraa were chosen."
    assert lists("Which municipalities were chosen?", three) == 1.0
    assert (lists("Which four municipalities were chosen?", three), lists("Which four municipalities were chosen?", four)) == (0.0, 1.0)


def test_every_word_in_the_lexicon_files_is_read_as_a_word() -> None:
    # YAML reads a bare no, yes, on or off as a boolean: "no" in a word list would silently be False
    from retrieval.answering.lexicon import LEXICON_DIR, _read_yaml

    def not_words(value: object) -> list[object]:
        if isinstance(value, dict):
            return [bad for v in value.values() for bad in not_words(v)]
        if isinstance(value, list):
            return [v for v in value if not isinstance(v, str)]
        return []

    for path in sorted(LEXICON_DIR.glob("*.yaml")):
        data = _read_yaml(path)
        lists = {k: v for k, v in data.items() if isinstance(v, list | dict) and k not in ("number_words",)}
        assert not_words(lists) == [], path.name
