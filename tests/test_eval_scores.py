"""The scores that cannot be gamed: facts must be in the cited passages, the overall score, per-language rows,
paraphrase consistency, and sampling; every number worked out by hand."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from retrieval.evaluation.reports import render_html, render_markdown
from retrieval.evaluation.runner import (
    Case,
    CaseResult,
    Evaluation,
    cited_text,
    missing_groups,
    paraphrase_groups,
    quotes_overlap,
    same_passage,
    sample_cases,
    summarize,
)
from retrieval.types import Answer, Citation
from tests.test_evaluation import CHUNKS, case, hand_made, make_answer, result

PIA = "Pia Lund Jeppesen er næstformand i HK Kommunal."


# -- facts must be in what the answer cites ---------------------------------------------------------------------


def test_cited_text_keeps_quotes_apart() -> None:
    text = cited_text(["Pia Lund", "Jeppesen er næstformand "])
    assert missing_groups(text, [["Pia Lund"], ["næstformand"]]) == []
    assert missing_groups(text, [["Pia Lund Jeppesen"]]) == [("Pia Lund Jeppesen",)]  # not across two quotes


def test_a_fact_in_the_text_but_not_in_a_cited_passage_fails() -> None:
    c = case("a", ["doc-a"], [["Pia Lund Jeppesen"], ["HK"]])
    answer = make_answer(
        c.question,
        "Pia Lund Jeppesen er næstformand i HK [1]",
        cites=[("doc-b", "b#0", "Borgmesteren i Rudersdal vil luge i reglerne.")],
        retrieved=["a#0"],
    )
    checks = result(c, answer).checks
    assert checks.text_pass is True
    assert checks.answer_pass is False
    assert checks.missing == ()
    assert checks.missing_cited == (("Pia Lund Jeppesen",), ("HK",))
    assert "not in a cited passage: 'Pia Lund Jeppesen'" in checks.problems
    assert not checks.passed


def test_a_fact_in_a_cited_passage_passes_case_insensitively() -> None:
    c = case("a", ["doc-a"], [["pia lund jeppesen"], ["hk kommunal", "HK"]])
    answer = make_answer(c.question, "PIA LUND JEPPESEN, HK Kommunal [1]", cites=[("doc-a", "a#0", PIA)])
    checks = result(c, answer).checks
    assert checks.answer_pass is True and checks.text_pass is True and checks.missing_cited == ()


def test_a_refused_answer_fails_even_when_its_text_holds_the_facts() -> None:
    c = case("a", ["doc-a"], [["Pia"]])
    answer = make_answer(c.question, "Pia [1]", cites=[("doc-a", "a#0", PIA)], refused=True)
    checks = result(c, answer).checks
    assert checks.answer_pass is False and checks.text_pass is False


# -- the overall score and the refusal shares -------------------------------------------------------------------


def test_overall_and_refusal_shares_by_hand() -> None:
    """hand_made(): a1 passes, a2 misses a fact, a3 refused; u1 refused, u2 answered."""
    m = summarize(hand_made())
    assert m.overall == pytest.approx(2 / 5)  # a1 and u1
    assert m.answer_pass == pytest.approx(1 / 3)
    assert m.text_pass == pytest.approx(1 / 3)
    assert m.unanswerable_refused == pytest.approx(1 / 2)
    assert m.answerable_refused == pytest.approx(1 / 3)  # a3
    assert m.refusal_accuracy == pytest.approx(3 / 5)  # kept as before: a3 and u2 wrong
    assert m.paraphrase_consistency is None  # no paraphrase groups


def test_a_refusal_that_cites_is_not_counted_as_refused() -> None:
    u = case("u", answerable=False)
    refused_citing = result(u, make_answer(u.question, "Nej.", cites=[("doc-a", "a#0", "Pia")], refused=True))
    m = summarize([refused_citing])
    assert m.unanswerable_refused == 0.0 and m.overall == 0.0
    assert m.answerable_refused is None and m.answer_pass is None


def with_language(answer: Answer, language: str) -> Answer:
    answer.language = "en" if language == "en" else "da"
    return answer


def test_rows_per_language_of_the_question() -> None:
    a, b, u = case("a", must=[["Pia"]]), case("b", must=[["Pia"]]), case("u", answerable=False)
    results = [
        result(a, with_language(make_answer(a.question, "Pia [1]", cites=[("doc-a", "a#0", PIA)]), "en")),
        result(b, with_language(make_answer(b.question, "Nej.", refused=True), "da")),
        result(u, with_language(make_answer(u.question, "Nej.", refused=True), "en")),
    ]
    by_language = Evaluation(results, k=2).by_language()
    assert list(by_language) == ["da", "en"]
    assert by_language["en"].cases == 2 and by_language["en"].overall == 1.0
    assert by_language["da"].answer_pass == 0.0 and by_language["da"].answerable_refused == 1.0
    assert Evaluation(results, k=2).summary_dict()["by_language"]["en"]["overall"] == 1.0


# -- paraphrase consistency ---------------------------------------------------------------------------------------


def cite(chunk: str, quote: str) -> Citation:
    return Citation(1, f"doc-{chunk[0]}", chunk, "t", None, None, quote)


def test_quotes_overlap_when_one_holds_the_other_or_they_share_a_long_run() -> None:
    assert quotes_overlap("Pia Lund Jeppesen", "  pia lund\njeppesen er næstformand")
    long_a = "Tidligere i år meddelte regeringen, at man ville nedlægge jobcentrene helt."
    long_b = "Som bekendt meddelte regeringen, at man ville nedlægge jobcentrene. Det vakte debat."
    assert quotes_overlap(long_a, long_b)  # ' meddelte regeringen, at man ville nedlægge jobcentrene' > 40
    assert not quotes_overlap("Borgmesteren i Rudersdal vil luge i reglerne.", PIA)
    assert not quotes_overlap("", PIA)


def test_same_passage_by_top_chunk_or_quotes() -> None:
    assert same_passage([cite("a#0", "x")], [cite("a#0", "y")])  # same top chunk
    assert same_passage([cite("a#0", PIA)], [cite("a#1", "Pia Lund Jeppesen er næstformand")])
    assert not same_passage([cite("a#0", PIA)], [cite("b#0", CHUNKS["b#0"])])
    assert same_passage([], [])
    assert not same_passage([cite("a#0", PIA)], [])


def para(case_id: str, group: str, answerable: bool = True) -> Case:
    return case(case_id, must=[["Pia"]] if answerable else (), answerable=answerable, tags=[f"group-{group}"])


def answered(c: Case, chunk: str = "a#0", quote: str = PIA) -> CaseResult:
    return result(c, make_answer(c.question, quote + " [1]", cites=[(f"doc-{chunk[0]}", chunk, quote)]))


def refused(c: Case) -> CaseResult:
    return result(c, make_answer(c.question, "Det står ikke i artiklerne.", refused=True))


def test_paraphrase_groups_by_hand() -> None:
    results: list[CaseResult] = [
        # g1: all answered from the same chunk, all right -> consistent
        answered(para("p1", "g1")),
        answered(para("p2", "g1")),
        # g2: one refused -> not the same verdict
        answered(para("p3", "g2")),
        refused(para("p4", "g2")),
        # g3: both answered and right, but from unrelated passages -> not the same passage
        answered(para("p5", "g3")),
        answered(para("p6", "g3"), "c#0", "Pia var i Aalborg til jobCAMP 19."),
        # g4: unanswerable, both refused -> consistent
        refused(para("p7", "g4", answerable=False)),
        refused(para("p8", "g4", answerable=False)),
        # g5: both answered from one passage, one right and one wrong -> not the same verdict
        answered(para("p9", "g5")),
        answered(case("p10", must=[["Aalborg"]], tags=["group-g5"])),
        # a group of one counts for nothing
        answered(para("p11", "g6")),
    ]
    groups = {g.group: g for g in paraphrase_groups(results)}
    assert list(groups) == ["g1", "g2", "g3", "g4", "g5"]
    assert groups["g1"].consistent and groups["g1"].case_ids == ("p1", "p2")
    assert not groups["g2"].same_verdict and groups["g2"].answered == 1 and groups["g2"].correct == 1
    assert groups["g3"].same_verdict and not groups["g3"].same_passage and not groups["g3"].consistent
    assert groups["g4"].consistent and groups["g4"].answered == 0 and groups["g4"].correct == 2
    assert groups["g5"].same_passage and not groups["g5"].same_verdict
    evaluation = Evaluation(results, k=2)
    assert evaluation.overall().paraphrase_consistency == pytest.approx(2 / 5)
    assert not any(tag.startswith("group-") for tag in evaluation.by_tag())
    markdown = render_markdown(evaluation)
    assert "## Paraphrase groups (consistency 0.400)" in markdown
    assert "| g3 | p5 p6 | 2/2 | 2/2 | yes | NO | NO |" in markdown
    assert "## Per language of the question" in markdown
    html = render_html(evaluation)
    assert "<h2>Paraphrase groups (consistency 0.400)</h2>" in html and "<h2>Per tag</h2>" not in html


# -- sampling ----------------------------------------------------------------------------------------------------


def ids(cases: Sequence[Case]) -> list[str]:
    return [c.id for c in cases]


def test_a_sample_is_the_same_for_a_seed_and_keeps_file_order() -> None:
    cases = [case(f"c{i:02d}") for i in range(30)]
    first = sample_cases(cases, 5, seed=1)
    assert ids(first) == ids(sample_cases(cases, 5, seed=1))
    assert ids(first) == sorted(ids(first)) and len(set(ids(first))) == 5
    assert ids(first) != ids(sample_cases(cases, 5, seed=2))
    assert ids(sample_cases(cases, 99)) == ids(cases)


# -- the baseline is scored the same way ----------------------------------------------------------------------------


def test_the_baseline_cites_whole_chunks_so_its_facts_are_cited() -> None:
    from retrieval.evaluation.baseline import TutorialBaseline
    from retrieval.evaluation.runner import evaluate, load_cases
    from retrieval.index.articles import load_articles
    from retrieval.index.embeddings import make_embeddings
    from tests.conftest import CORPUS
    from tests.test_evaluation import PROMPTS

    articles, _ = load_articles([CORPUS])
    baseline = TutorialBaseline(articles, make_embeddings("fake"))
    try:
        cases = load_cases([PROMPTS / "dev.yaml"])[:4]
        evaluation = evaluate(baseline, cases, k=4, name="baseline")
        for r in evaluation.results:
            assert r.checks.answer_pass == r.checks.text_pass  # its text is its cited chunks
    finally:
        baseline.close()
