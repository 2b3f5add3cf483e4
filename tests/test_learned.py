"""The learned answerer's parameters and passage choice: strict JSON fitted for exactly this feature code, and a
passage that is the best sentence with the neighbour it leans on, within the word budget."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from retrieval.answering.features import ANSWERABILITY_FEATURES, SENTENCE_FEATURES, Candidate, Evidence
from retrieval.answering.learned import MAX_WORDS, passage
from retrieval.answering.model import DEFAULT_PARAMS, code_fingerprint, load_params
from retrieval.answering.question import analyse
from retrieval.errors import KildeError
from retrieval.text import words


def test_the_shipped_parameters_were_fitted_on_this_feature_code() -> None:
    # Fails when features.py, question.py, the lexicon, text.py or the values of hand_set.yaml's sections
    # `features` and `passage` change after the fit: re-run benchmarks/fit_answerer.py (it records the fingerprint).
    assert load_params(DEFAULT_PARAMS).fingerprint == code_fingerprint()


def test_the_shipped_parameters_are_strict_json_with_provenance() -> None:
    def refuse(name: str) -> float:
        raise ValueError(name)

    data = json.loads(DEFAULT_PARAMS.read_text(encoding="utf-8"), parse_constant=refuse)
    assert data["ranker"]["features"] == list(SENTENCE_FEATURES)
    assert data["answerable"]["features"] == list(ANSWERABILITY_FEATURES)
    assert 0.0 < data["threshold"] < 1.0
    provenance = data["provenance"]
    assert provenance["training"] and provenance["cross_validated"]
    assert not any("judge" in f or "heldout" in f or "paraphrase" in f for f in provenance["training"])


def test_parameters_with_nan_are_refused(tmp_path: Path) -> None:
    bad = tmp_path / "p.json"
    bad.write_text(DEFAULT_PARAMS.read_text(encoding="utf-8").replace('"threshold": ', '"threshold": NaN, "x": '))
    load_params.cache_clear()
    with pytest.raises(KildeError, match="not strict JSON"):
        load_params(bad)


def _evidence(
    texts: list[str], scores: list[float], question: str = "Hvem bliver ny chef?", docs: str = ""
) -> Evidence:
    """Candidates of one article "d", or of the articles named one letter a sentence in `docs`."""
    cands, start = [], 0
    for i, text in enumerate(texts):
        vector = np.zeros(3, dtype=np.float32)
        doc = docs[i] if docs else "d"
        cands.append(Candidate(doc, start, start + len(text), text, vector, "da", words=frozenset(words(text))))
        start += len(text) + 1
    pool = list(range(len(texts)))
    x = np.zeros((len(texts), len(SENTENCE_FEATURES)))
    return Evidence(analyse(question), cands, pool, x, {}, {}, {}, scores=np.asarray(scores, dtype=float))


def test_a_sentence_that_leans_on_the_one_before_is_quoted_with_it() -> None:
    found = _evidence(
        ["Kim Them Serup har været chef i Dansk Metal siden 2006.", "Den 1. marts bliver han ny chef for jobcentret og arbejdsmarkedet i Vordingborg Kommune.", "Det glæder ham meget, siger han til bladet i dag."],
        [0.0, 2.0, 0.5],
    )
    quotes = passage(found, second_gap=0.0)
    assert [q.start for q in quotes] == [0, found.cands[1].start]


def test_the_runner_up_joins_when_the_ranker_barely_prefers_the_best_and_the_budget_allows() -> None:
    texts = [
        "Aalborg fik i år 12 millioner kroner fra puljen til projektet med de ledige borgere.",
        "Vejle fik samtidig 9 millioner kroner fra den samme pulje til et andet projekt for unge.",
        "Resten gik til administration og til konsulenter i hele landet, skriver ministeriet i dag.",
    ]
    found = _evidence(texts, [2.0, 1.9, 0.0], "Hvor mange penge fik kommunerne?")
    assert len(passage(found, second_gap=0.5)) == 2
    assert len(passage(found, second_gap=0.05)) == 1


def test_a_long_sentence_is_cut_to_the_word_budget() -> None:
    long = " ".join(f"ord{i}" for i in range(120)) + "."
    found = _evidence([long], [1.0])
    (quote,) = passage(found, second_gap=0.0)
    assert len(long[quote.start : quote.end].split()) <= MAX_WORDS


def test_an_article_of_one_short_sentence_is_quoted_whole() -> None:
    found = _evidence(["Brandstationen i Humlebæk får en ny stige på 42 meter."], [1.0], "Hvor lang er stigen?")
    (quote,) = passage(found, second_gap=5.0)
    assert (quote.start, quote.end) == (0, found.cands[0].end)


def test_a_question_naming_two_subjects_quotes_a_sentence_for_each() -> None:
    texts = [
        "Den nye hal i Hanstholm koster 58 mio. kr. og står klar til foråret.",
        "Vejret har været godt hele ugen, og mange har været ude at sejle.",
        "Diget ved Ribe bliver forhøjet for 310 mio. kr., skriver kommunen.",
    ]
    found = _evidence(texts, [2.0, 1.5, 0.5], "Hvad koster henholdsvis hallen i Hanstholm og diget ved Ribe?")
    assert [q.start for q in passage(found, second_gap=0.0)] == [0, found.cands[2].start]
    one = _evidence(texts, [2.0, 1.5, 0.5], "Hvad koster den nye hal i Hanstholm?")
    assert [q.start for q in passage(one, second_gap=0.0)] == [0]


def test_the_second_subject_comes_from_the_article_that_names_it_even_where_its_sentence_does_not() -> None:
    texts = [
        "Den nye hal i Hanstholm koster 58 mio. kr. og står klar til foråret.",  # article h
        "Ribe er Danmarks ældste by.",  # article r, names Ribe, says nothing asked
        "Vandet stod 4,8 meter over normalen under stormen i oktober.",  # article r
        "Det nye dige kommer til at koste 310 mio. kr., skriver kommunen.",  # article r, never says "Ribe"
        "Vejret har været godt hele ugen, og mange har været ude at sejle.",  # article w
    ]
    question = "Hvad koster henholdsvis hallen i Hanstholm og diget ved Ribe?"
    found = _evidence(texts, [3.0, 0.2, 0.1, 1.5, 2.5], question, docs="hrrrw")
    starts = [q.start for q in passage(found, second_gap=0.0)]
    assert starts == [0, found.cands[3].start]  # not the weather (unrelated), not "Ribe er ..." (ranked lower)
