"""Lemmas, compounds and language identification from kept libraries (simplemma, py3langid)."""

from __future__ import annotations

import pytest

from retrieval.answering.language import content_lemmas, lemma, part_match
from retrieval.langid import detect_language


@pytest.mark.parametrize(
    ("word", "expected"),
    [
        ("hedder", "hedde"),
        ("næstformanden", "næstformand"),
        ("midler", "middel"),
        ("sagde", "sige"),
        ("fik", "få"),
        ("børn", "barn"),
        ("jobcentrene", "jobcenter"),  # unknown compound: its known head is lemmatised
    ],
)
def test_danish_forms_meet_in_one_lemma(word: str, expected: str) -> None:
    assert lemma(word, "da") == expected


def test_english_lemmas() -> None:
    assert lemma("chairs", "en") == "chair"
    assert lemma("municipalities", "en") == "municipality"


def test_a_question_word_inside_a_corpus_compound_counts_as_found() -> None:
    assert part_match("middel", {"sats-puljemiddel"}) == 0.8
    assert part_match("regel", {"regelforenkling"}) == 0.8
    assert part_match("næstformand", {"næstformand"}) == 1.0
    assert part_match("job", {"jobcenter"}) == 0.0  # parts shorter than four letters match too much
    assert part_match("billet", {"borgmester", "regel"}) == 0.0


def test_content_lemmas_drop_function_words() -> None:
    assert content_lemmas("Hvor mange kommuner fik midler?", "da") == ["kommune", "middel"]


@pytest.mark.parametrize(
    ("question", "language"),
    [
        ("Who is the deputy chair of HK Kommunal?", "en"),
        ("Who wanted gestures implemented for sword control?", "en"),  # the function-word guess said Danish
        ("Hvad hedder næstformanden i HK Kommunal?", "da"),
        ("Hvornår blev aftalen indgået?", "da"),
        ("88", "da"),
    ],
)
def test_language_of_short_questions(question: str, language: str) -> None:
    assert detect_language(question) == language
