"""The failures the answering issues reported against earlier answerers, pinned on the bundled articles.

Each is a kind of mistake, not a prompt the answerer was fitted on: a question word the articles do not use
("gammel") must not refuse what they answer; a genitive written two ways gets one verdict; a sentence that says
"han" is quoted with the one that names him; an off-topic question and an article the corpus does not have are
refused; an article's own facts come from its front matter."""

from __future__ import annotations

import pytest

from retrieval.service import Service
from retrieval.types import Answer


def _quoted(answer: Answer) -> str:
    return " ".join(c.quote for c in answer.citations)


@pytest.mark.parametrize(
    ("question", "fact", "source"),
    [
        ("Hvad hedder næstformanden i HK Kommunal?", "Pia Lund Jeppesen", "velfaerdskommuner-hk-kommunal"),
        ("Who is the deputy chair of HK Kommunal?", "Pia Lund Jeppesen", "velfaerdskommuner-hk-kommunal"),
        ("Hvor gammel er Kim Them Serup?", "44 år", "kim-them-serup-vordingborg"),
        ("How old is Kim Them Serup?", "44 år", "kim-them-serup-vordingborg"),
    ],
)
def test_paraphrases_and_english_are_answered_from_the_cited_passage(
    real_service: Service, question: str, fact: str, source: str
) -> None:
    answer = real_service.answer(question)
    assert not answer.refused, answer.reason
    assert fact in _quoted(answer)
    assert source in {c.doc_id for c in answer.citations}
    assert answer.language == ("en" if question.startswith(("Who", "How")) else "da")


def test_an_english_question_over_danish_articles_is_framed_in_english(real_service: Service) -> None:
    answer = real_service.answer("Who is the deputy chair of HK Kommunal?")
    assert answer.language == "en"
    assert answer.text.startswith("The articles say (in Danish): ")


def test_a_genitive_written_two_ways_gets_one_verdict(real_service: Service) -> None:
    with_apostrophe = real_service.answer("Hvem er formand for KL's Arbejdsmarkeds- og Borgerserviceudvalg?")
    without = real_service.answer("Hvem er formand for KLs Arbejdsmarkeds- og Borgerserviceudvalg?")
    assert with_apostrophe.refused == without.refused is False
    assert "Kastrup-Larsen" in _quoted(with_apostrophe) and "Kastrup-Larsen" in _quoted(without)


def test_who_becomes_the_new_x_is_answered_with_the_sentence_that_names_the_person(
    real_service: Service,
) -> None:
    # "Den 1. marts sætter han ... kurs mod Vordingborg og jobbet som kommunens nye arbejdsmarkedschef" comes
    # right after the sentence naming him: it leans on it, so both are quoted.
    answer = real_service.answer("Hvem bliver ny arbejdsmarkedschef i Vordingborg?")
    assert not answer.refused, answer.reason
    assert "Kim Them Serup" in answer.text and "arbejdsmarkedschef" in answer.text


def test_off_topic_questions_are_refused_and_cite_nothing(real_service: Service) -> None:
    for question in ("Who is the prime minister of Sweden?", "Hvordan laver man æbleskiver?"):
        answer = real_service.answer(question)
        assert answer.refused and not answer.citations, answer.text


def test_who_wrote_an_article_the_corpus_does_not_have_is_refused(real_service: Service) -> None:
    answer = real_service.answer("Hvem skrev artiklen om Norddal Bibliotek?")
    assert answer.refused and not answer.citations
    assert answer.text == "Det kan jeg ikke finde i artiklerne."


@pytest.mark.parametrize(
    ("question", "fact"),
    [
        ("Hvem skrev reportagen fra jobCAMP 2018?", "Annette Haugaard"),
        ("Hvilket medie bragte portrættet af Kim Them Serup?", "Kommunen.dk"),
        ("Who wrote the profile of the mayor of Rudersdal?", "Menzer"),
    ],
)
def test_an_articles_own_facts_come_from_its_front_matter(real_service: Service, question: str, fact: str) -> None:
    answer = real_service.answer(question)
    assert not answer.refused, answer.reason
    assert fact in _quoted(answer)
