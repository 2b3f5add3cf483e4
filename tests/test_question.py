"""What `analyse` reads from a question: here, whether it asks about the article itself (its metadata)."""

from __future__ import annotations

import pytest

from retrieval.answering.question import analyse


@pytest.mark.parametrize(
    "question",
    [
        "When did KL publish the piece about the citizens?",
        "When was the article updated?",
        "Hvornår udgav KL artiklen om borgerne?",
        "Hvornår blev artiklen publiceret?",
        "Hvornår udkom HK Kommunals artikel om velfærdskommunerne?",  # "artikel", not only "artiklen"
    ],
)
def test_a_question_about_an_articles_date_is_told_by_any_form_of_the_verb(question: str) -> None:
    assert analyse(question).meta_fields == ["date"]


@pytest.mark.parametrize("question", ["Hvornår blev aftalen indgået?", "When was the agreement published?"])
def test_a_date_question_that_names_no_article_is_about_the_subject(question: str) -> None:
    assert analyse(question).meta_fields == []
