"""The real chain over the bundled corpus: the development questions, follow-ups, refusals, citations."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from retrieval.service import Service
from retrieval.types import Answer, Turn

DEV = yaml.safe_load((Path(__file__).parent / "prompts" / "dev.yaml").read_text())["cases"]
BY_ID = {c["id"]: c for c in DEV}


def ask(service: Service, case: dict[str, Any]) -> Answer:
    history: list[Turn] = []
    for earlier in case.get("history", []):
        answer = service.answer(earlier, history)
        history.append(Turn(earlier, answer.text))
    return service.answer(case["question"], history)


ANSWERABLE = [c for c in DEV if c.get("answerable", True)]


@pytest.fixture(scope="module")
def dev_answers(real_service: Service) -> dict[str, Answer]:
    return {c["id"]: ask(real_service, c) for c in ANSWERABLE}


@pytest.mark.parametrize("case", ANSWERABLE, ids=lambda c: c["id"])
def test_answered_dev_questions_cite_the_right_article(dev_answers: dict[str, Answer], case: dict[str, Any]) -> None:
    answer = dev_answers[case["id"]]
    if not answer.refused:
        assert answer.citations
        assert {c.doc_id for c in answer.citations} <= set(case["expected_sources"])


def test_few_answerable_dev_questions_are_refused(dev_answers: dict[str, Answer]) -> None:
    # The fitted threshold refuses some answerable questions by design (6 % of the tuning ones); the issue allows
    # a tenth: here at most one of the eleven.
    refused = [i for i, a in dev_answers.items() if a.refused]
    assert len(refused) <= len(ANSWERABLE) // 10, refused


# Off topic: the articles do not discuss it. (A near miss, "Hvad koster en billet til jobCAMP?", may be answered
# with the passage nearest to it, quoted and cited: the reader sees it does not say; see README.)
@pytest.mark.parametrize("case", [c for c in DEV if not c.get("answerable", True) and "near-miss" not in c.get("tags", [])], ids=lambda c: c["id"])
def test_off_topic_dev_questions_are_refused(real_service: Service, case: dict[str, Any]) -> None:
    answer = ask(real_service, case)
    assert answer.refused
    assert answer.citations == []
    assert "[1]" not in answer.text


def test_refusal_speaks_the_question_language(real_service: Service) -> None:
    assert (
        real_service.answer("Who is the prime minister of Sweden?").text
        == "I can't find that in the articles."
    )
    assert (
        real_service.answer("Hvordan laver man æbleskiver?").text
        == "Det kan jeg ikke finde i artiklerne."
    )


@pytest.mark.parametrize(
    "question",
    ["Hvad mener Mette Frederiksen om velfærdskommunerne?", "What does Boris Johnson think of the jobcentres?"],
)
def test_a_question_about_someone_no_article_names_is_refused(real_service: Service, question: str) -> None:
    # on the subject of the articles, but about a person none of them names
    answer = real_service.answer(question)
    assert answer.refused and answer.citations == []


def test_follow_up_uses_the_chat_history(real_service: Service) -> None:
    answer = ask(real_service, BY_ID["d13"])
    assert not answer.refused
    [facts] = BY_ID["d13"]["must_include"]  # any fact of his answer on benchmarking
    assert any(fact in answer.text for fact in facts)
    assert {c.doc_id for c in answer.citations} == {"jobcamp-2018-faerre-regler"}


def test_a_follow_up_borrows_names_from_the_last_turn() -> None:
    from retrieval.conversation import condense

    query = condense(
        "Hvad sagde han om benchmarking?", [Turn("Hvem er Troels Lund Poulsen?", "Han er minister [1].")]
    )
    assert "Troels Lund Poulsen" in query.text
    standalone = condense(
        "Hvor mange kommuner har fået SATS-puljemidler?", [Turn("Hvem er Troels Lund Poulsen?")]
    )
    assert standalone.text == standalone.question


@pytest.mark.parametrize(
    ("question", "follows_up"),
    [
        ("Og i 2019?", True),  # only a number: it asks the last question again
        ("Hvad med Greve?", True),  # only a name
        ("How old is he?", True),  # points back
        ("Hvordan laver man æbleskiver?", False),  # short, but with a subject of its own
        ("Which judge sentenced him?", True),
        ("Which judge sentenced Whitlock?", False),
    ],
)
def test_a_short_question_borrows_from_the_last_turn_only_when_it_says_nothing_of_its_own(
    question: str, follows_up: bool
) -> None:
    from retrieval.conversation import condense

    query = condense(question, [Turn("Hvad sagde Troels Lund Poulsen om reglerne?", "Reglerne skal ryddes op [1].")])
    assert ("Troels Lund Poulsen" in query.text) == follows_up


def test_every_citation_quotes_its_own_chunk(real_service: Service) -> None:
    for case in DEV:
        answer = ask(real_service, case)
        numbers = {c.n for c in answer.citations}
        for citation in answer.citations:
            chunk = real_service.chunk_text(citation.chunk_id)
            assert chunk is not None and citation.quote in chunk
            assert f"[{citation.n}]" in answer.text
        for marker in range(1, 10):
            assert (f"[{marker}]" in answer.text) == (marker in numbers)


def test_metadata_questions_are_answered_from_front_matter(real_service: Service) -> None:
    answer = real_service.answer("Hvem skrev reportagen fra jobCAMP 2018?")
    assert "Annette Haugaard" in answer.text
    assert answer.citations[0].doc_id == "jobcamp-2018-faerre-regler"
    when = real_service.answer("When was the article about the mayor of Rudersdal published?")
    assert (
        "2020" in when.text and when.citations[0].doc_id == "rudersdal-revolutionere-beskaeftigelsesindsatsen"
    )


def test_documents_lists_every_article(real_service: Service) -> None:
    docs = real_service.documents()
    assert len(docs) == 5
    assert all(d.title for d in docs)
