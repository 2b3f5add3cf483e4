"""`kilde eval`: prompt-file validation, every metric on hand-made results, history, and the command's output."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import bot.cli.evaluate as cli_eval
from bot.cli.main import cli
from retrieval.errors import ModelError, UsageError
from retrieval.evaluation.limits import Threshold, check_thresholds
from retrieval.evaluation.reports import render_html, render_markdown
from retrieval.evaluation.runner import (
    Case,
    CaseResult,
    CaseRun,
    Evaluation,
    check_case,
    evaluate,
    first_hit_rank,
    hit_at_k,
    load_cases,
    missing_groups,
    percentile,
    quote_is_faithful,
    recall_at_k,
    reciprocal_rank,
    run_case,
    summarize,
    word_count,
)
from retrieval.types import Answer, Citation, DocumentInfo, Retrieved, Turn
from tests.conftest import CORPUS

PROMPTS = Path(__file__).parent / "prompts"
DOCS = {"doc-a", "doc-b", "doc-c"}
CHUNKS = {
    "a#0": "Pia Lund Jeppesen er næstformand i HK Kommunal.",
    "b#0": "Borgmesteren i Rudersdal vil luge i reglerne.",
    "c#0": "jobCAMP 19 blev holdt i Aalborg.",
}


# -- a fake service --------------------------------------------------------------------------------------------


def make_answer(
    question: str,
    text: str = "",
    cites: Sequence[tuple[str, str, str]] = (),
    retrieved: Sequence[str] = (),
    refused: bool = False,
) -> Answer:
    """`cites`: (doc_id, chunk_id, quote); `retrieved`: chunk ids (doc id = the part before '#')."""
    return Answer(
        question=question,
        text=text,
        refused=refused,
        language="da",
        citations=[
            Citation(n, doc, chunk, title=doc, date=None, url=None, quote=quote)
            for n, (doc, chunk, quote) in enumerate(cites, start=1)
        ],
        retrieved=[
            Retrieved(f"doc-{c.split('#')[0]}", c, 1.0 / rank) for rank, c in enumerate(retrieved, start=1)
        ],
    )


class FakeService:
    """Answers from a table of questions; refuses anything else. Records every call."""

    def __init__(self, answers: dict[str, Answer] | None = None, fail_on: str | None = None) -> None:
        self.answers = answers or {}
        self.fail_on = fail_on
        self.calls: list[tuple[str, list[Turn] | None]] = []
        self.closed = False

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer:
        self.calls.append((question, None if history is None else list(history)))
        if question == self.fail_on:
            raise ModelError("the model server timed out")
        if question in self.answers:
            return self.answers[question]
        return make_answer(question, "Det står ikke i artiklerne.", refused=True)

    def documents(self) -> list[DocumentInfo]:
        return [DocumentInfo(d, d.upper()) for d in sorted(DOCS)]

    def chunk_text(self, chunk_id: str) -> str | None:
        return CHUNKS.get(chunk_id)

    def close(self) -> None:
        self.closed = True


def write(tmp_path: Path, text: str, name: str = "dev.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# -- prompt files ----------------------------------------------------------------------------------------------

GOOD = """\
cases:
  - id: q1
    question: "Hvem er næstformand i HK Kommunal?"
    expected_sources: [doc-a]
    must_include: [["Pia Lund Jeppesen"], ["HK", "HK Kommunal"]]
    tags: [name]
  - id: q2
    question: "Hvad er hovedstaden i Australien?"
    history: ["Hvad er velfærdskommuner?"]
    expected_sources: []
    answerable: false
"""


def test_a_valid_file_loads_with_defaults(tmp_path: Path) -> None:
    cases = load_cases([write(tmp_path, GOOD)], known_ids=DOCS)
    assert [c.id for c in cases] == ["q1", "q2"]
    first, second = cases
    assert first.file == "dev"
    assert first.answerable is True
    assert first.must_include == (("Pia Lund Jeppesen",), ("HK", "HK Kommunal"))
    assert first.tags == ("name",)
    assert first.history == ()
    assert second.answerable is False
    assert second.history == ("Hvad er velfærdskommuner?",)
    assert second.expected_sources == ()


def test_a_directory_stands_for_its_yaml_files(tmp_path: Path) -> None:
    write(tmp_path, GOOD, "dev.yaml")
    write(tmp_path, GOOD.replace("q1", "h1").replace("q2", "h2"), "heldout.yml")
    write(tmp_path, "not a prompt file", "notes.txt")
    cases = load_cases([tmp_path])
    assert [(c.id, c.file) for c in cases] == [
        ("q1", "dev"),
        ("q2", "dev"),
        ("h1", "heldout"),
        ("h2", "heldout"),
    ]


def test_the_bundled_prompt_files_are_valid() -> None:
    """The prompt files in tests/prompts name only documents of the bundled corpus."""
    corpus_ids = {p.stem for p in CORPUS.glob("*.md")}
    cases = load_cases([PROMPTS], known_ids=corpus_ids)
    assert len(cases) >= 20
    assert {c.file for c in cases} >= {"dev", "heldout"}


@pytest.mark.parametrize(
    ("text", "needles"),
    [
        pytest.param(
            GOOD.replace("  - id: q2\n", "  - answerable: false\n"),
            ["case #2", "'id'", "missing"],
            id="missing-id",
        ),
        pytest.param(
            GOOD.replace('    question: "Hvem er næstformand i HK Kommunal?"\n', ""),
            ["case 'q1'", "'question'", "missing"],
            id="missing-question",
        ),
        pytest.param(GOOD.replace("id: q2", "id: q1"), ["case 'q1'", "'id'", "duplicate"], id="duplicate-id"),
        pytest.param(
            GOOD.replace("[doc-a]", "[doc-a, no-such-doc]"),
            ["case 'q1'", "'expected_sources'", "no-such-doc"],
            id="unknown-doc",
        ),
        pytest.param(
            GOOD.replace("  - id: q1\n", "  - id: q1\n    expected: [doc-a]\n"),
            ["case 'q1'", "'expected'", "unknown key"],
            id="unknown-key",
        ),
        pytest.param(GOOD.replace("id: q2", "id: 2"), ["case #2", "'id'", "string"], id="id-not-string"),
        pytest.param(
            GOOD.replace('question: "Hvem er næstformand i HK Kommunal?"', "question: 42"),
            ["case 'q1'", "'question'", "a number"],
            id="question-not-string",
        ),
        pytest.param(
            GOOD.replace('[["Pia Lund Jeppesen"], ["HK", "HK Kommunal"]]', '["Pia Lund Jeppesen"]'),
            ["case 'q1'", "'must_include'", "list of lists"],
            id="must-include-flat",
        ),
        pytest.param(
            GOOD.replace("answerable: false", 'answerable: "no"'),
            ["case 'q2'", "'answerable'", "true or false"],
            id="answerable-not-bool",
        ),
        pytest.param(
            GOOD.replace("tags: [name]", "tags: name"),
            ["case 'q1'", "'tags'", "list of strings"],
            id="tags-string",
        ),
        pytest.param(
            GOOD.replace('history: ["Hvad er velfærdskommuner?"]', "history: [[1, 2]]"),
            ["case 'q2'", "'history'", "item 1"],
            id="history-wrong-item",
        ),
        pytest.param(
            GOOD.replace("expected_sources: [doc-a]", "expected_sources: []"),
            ["case 'q1'", "'expected_sources'", "answerable"],
            id="answerable-without-sources",
        ),
        pytest.param(
            GOOD.replace("expected_sources: []", "expected_sources: [doc-b]"),
            ["case 'q2'", "'expected_sources'", "answerable is false"],
            id="unanswerable-with-sources",
        ),
        pytest.param("cases: [\n  - id: q1\n", ["not valid YAML"], id="broken-yaml"),
        pytest.param("- id: q1\n", ["'cases'"], id="not-a-mapping"),
        pytest.param(GOOD + "extra: 1\n", ["'extra'", "top-level"], id="unknown-top-level-key"),
    ],
)
def test_a_malformed_file_is_one_usage_error(tmp_path: Path, text: str, needles: list[str]) -> None:
    path = write(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load_cases([path], known_ids=DOCS)
    message = str(info.value)
    assert str(path) in message
    for needle in needles:
        assert needle in message
    assert "\n" not in message


def test_a_duplicate_id_across_files_names_both(tmp_path: Path) -> None:
    first = write(tmp_path, GOOD, "dev.yaml")
    second = write(tmp_path, GOOD.replace("q2", "q3"), "extra.yaml")
    with pytest.raises(UsageError, match="duplicate id") as info:
        load_cases([first, second])
    assert str(second) in str(info.value) and str(first) in str(info.value)


# -- metric functions ------------------------------------------------------------------------------------------


def test_hit_and_mrr_with_the_relevant_doc_at_rank_2() -> None:
    rank = first_hit_rank(["doc-b", "doc-a", "doc-a"], {"doc-a"})
    assert rank == 2
    assert hit_at_k(rank, 1) is False
    assert hit_at_k(rank, 2) is True
    assert reciprocal_rank(rank) == 0.5
    assert first_hit_rank(["doc-b"], {"doc-a"}) is None
    assert reciprocal_rank(None) == 0.0
    assert hit_at_k(None, 5) is False


def test_recall_at_k_is_the_share_of_expected_docs_in_the_top_k() -> None:
    retrieved = ["doc-a", "doc-c", "doc-c", "doc-b"]
    assert recall_at_k(retrieved, {"doc-a", "doc-b"}, 3) == 0.5
    assert recall_at_k(retrieved, {"doc-a", "doc-b"}, 4) == 1.0
    assert recall_at_k(retrieved, {"doc-d"}, 4) == 0.0


def test_percentile_interpolates_between_ranks() -> None:
    values = [40.0, 10.0, 30.0, 20.0]
    assert percentile(values, 50) == 25.0
    assert percentile(values, 95) == pytest.approx(38.5)  # 30 + 0.85 * 10
    assert percentile([7.0], 95) == 7.0


def test_word_count_ignores_markers() -> None:
    assert word_count("Pia Lund Jeppesen [1] er næstformand [2, 3] – i HK.") == 7
    assert word_count("") == 0


def test_must_include_is_case_insensitive_and_needs_every_group() -> None:
    text = "PIA LUND\nJEPPESEN er næstformand i hk"
    assert missing_groups(text, [["pia lund jeppesen"], ["HK Kommunal", "HK"]]) == []
    assert missing_groups(text, [["Pia"], ["Dansk Metal", "Metal"]]) == [("Dansk Metal", "Metal")]


def test_faithfulness_detects_a_quote_not_in_the_chunk() -> None:
    chunk = CHUNKS["a#0"]
    assert quote_is_faithful("Pia Lund Jeppesen er næstformand", chunk)
    assert not quote_is_faithful("Pia Lund Jeppesen er formand", chunk)
    assert not quote_is_faithful("", chunk)
    assert not quote_is_faithful("Pia", None)  # the cited chunk does not exist


# -- checks on single cases ------------------------------------------------------------------------------------


def case(
    case_id: str,
    expected: Sequence[str] = ("doc-a",),
    must: Sequence[Sequence[str]] = (),
    answerable: bool = True,
    file: str = "dev",
    tags: Sequence[str] = (),
    history: Sequence[str] = (),
) -> Case:
    return Case(
        id=case_id,
        question=f"question {case_id}?",
        file=file,
        expected_sources=tuple(expected) if answerable else (),
        must_include=tuple(tuple(g) for g in must),
        history=tuple(history),
        answerable=answerable,
        tags=tuple(tags),
    )


def result(c: Case, answer: Answer, latency: float = 100.0, k: int = 2) -> CaseResult:
    run = CaseRun(
        c,
        answer.text,
        answer.refused,
        tuple(answer.citations),
        tuple(answer.retrieved),
        latency_ms=latency,
        language=answer.language,
    )
    return CaseResult(run, check_case(run, k, CHUNKS.get))


def test_check_case_flags_an_unfaithful_quote() -> None:
    c = case("a", expected=["doc-a"])
    answer = make_answer(
        c.question,
        "Pia er formand [1] og næstformand [2].",
        cites=[("doc-a", "a#0", "Pia er formand"), ("doc-a", "a#0", "Pia Lund Jeppesen er næstformand")],
        retrieved=["a#0"],
    )
    checks = result(c, answer).checks
    assert checks.unfaithful == (1,)
    assert not checks.passed
    assert any("quote not in chunk: [1]" in p for p in checks.problems)


@pytest.mark.parametrize(
    ("answerable", "refused", "cites", "correct"),
    [
        (False, True, [], True),  # unanswerable, refused, nothing cited
        (False, False, [("doc-b", "b#0", "luge")], False),  # unanswerable but answered
        (False, True, [("doc-b", "b#0", "luge")], False),  # refused yet cited a source
        (True, False, [("doc-a", "a#0", "Pia")], True),  # answerable and answered
        (True, True, [], False),  # answerable but refused
    ],
)
def test_refusal_accuracy_both_ways(
    answerable: bool, refused: bool, cites: list[tuple[str, str, str]], correct: bool
) -> None:
    c = case("r", answerable=answerable)
    answer = make_answer(c.question, "svar [1]", cites=cites, retrieved=["a#0"], refused=refused)
    checks = result(c, answer).checks
    assert checks.refusal_correct is correct
    assert checks.passed is correct


# -- summaries on hand-made results ----------------------------------------------------------------------------


def hand_made() -> list[CaseResult]:
    """Five cases with k=2, their expected numbers worked out by hand in `test_summary_by_hand`."""
    a1, a2, a3 = (
        case("a1", ["doc-a"], [["Pia Lund Jeppesen"], ["HK", "HK Kommunal"]], tags=["name"]),
        case("a2", ["doc-a", "doc-c"], [["Aalborg"]], tags=["name", "multi"]),
        case("a3", ["doc-a"], [["Pia"]], file="heldout"),
    )
    u1, u2 = case("u1", answerable=False, file="heldout"), case("u2", answerable=False, file="heldout")
    return [
        # relevant doc at rank 2; passes; 8 words
        result(
            a1,
            make_answer(
                a1.question,
                "Pia Lund Jeppesen er næstformand i HK Kommunal [1]",
                cites=[("doc-a", "a#0", "Pia Lund Jeppesen er næstformand i HK Kommunal.")],
                retrieved=["b#0", "a#0", "c#0"],
            ),
            latency=100,
        ),
        # relevant doc at rank 1, only doc-c of {a, c} in the top 2; misses "Aalborg"; one unexpected,
        # unfaithful citation; 3 words
        result(
            a2,
            make_answer(
                a2.question,
                "Noget helt andet [1] [2]",
                cites=[("doc-c", "c#0", "jobCAMP 19"), ("doc-b", "b#0", "made up")],
                retrieved=["c#0", "b#0", "a#0"],
            ),
            latency=200,
        ),
        # nothing relevant retrieved, refused
        result(a3, make_answer(a3.question, "Ved ikke.", retrieved=["b#0"], refused=True), latency=300),
        # correctly refused
        result(u1, make_answer(u1.question, "Ved ikke.", refused=True), latency=400),
        # answered an unanswerable question with a faithful citation
        result(
            u2, make_answer(u2.question, "Lug i reglerne [1]", cites=[("doc-b", "b#0", "luge")]), latency=500
        ),
    ]


def test_summary_by_hand() -> None:
    m = summarize(hand_made())
    assert (m.cases, m.answerable, m.unanswerable) == (5, 3, 2)
    assert m.hit_at_k == pytest.approx(2 / 3)  # a1 (rank 2), a2 (rank 1); a3 misses
    assert m.mrr == pytest.approx((1 / 2 + 1 + 0) / 3)
    assert m.recall_at_k == pytest.approx((1 + 1 / 2 + 0) / 3)
    assert m.citation_precision == pytest.approx(2 / 3)  # answerable citations: a, c expected; b not
    assert m.faithfulness == pytest.approx(3 / 4)  # four citations in all, a2's [2] is made up
    assert m.answer_pass == pytest.approx(1 / 3)  # only a1
    assert m.refusal_accuracy == pytest.approx(3 / 5)  # a3 refused, u2 answered
    assert m.median_words == 5.5  # a1: 8 words, a2: 3 words
    assert m.latency_p50_ms == 300
    assert m.latency_p95_ms == pytest.approx(480)  # 400 + 0.8 * 100
    assert m.failed == 3  # a2, a3, u2


def test_summary_per_file_and_per_tag() -> None:
    evaluation = Evaluation(hand_made(), k=2)
    by_file = evaluation.by_file()
    assert list(by_file) == ["dev", "heldout"]
    assert by_file["dev"].cases == 2 and by_file["dev"].answer_pass == 0.5
    assert by_file["heldout"].refusal_accuracy == pytest.approx(1 / 3)
    assert by_file["heldout"].citation_precision is None  # no answerable case there cites anything
    by_tag = evaluation.by_tag()
    assert by_tag["name"].cases == 2 and by_tag["multi"].cases == 1
    assert by_tag["multi"].mrr == 1.0


def test_thresholds_name_the_metric() -> None:
    metrics = summarize(hand_made())
    got = check_thresholds(
        metrics,
        [
            Threshold("answer_pass", 0.5, "min"),
            Threshold("refusal_accuracy", 0.6, "min"),
            Threshold("latency_p95_ms", 400, "max"),
        ],
    )
    assert [r.ok for r in got] == [False, True, False]
    assert got[0].message() == "answer_pass 0.333 is below the floor 0.5"
    assert "latency_p95_ms" in got[2].message() and "ceiling" in got[2].message()
    empty = check_thresholds(summarize(hand_made()[3:]), [Threshold("hit_at_k", 0.5, "min")])
    assert not empty[0].ok and "not measured" in empty[0].message()


# -- running cases through a service ---------------------------------------------------------------------------


def test_follow_up_history_is_passed_like_a_chat() -> None:
    service = FakeService(
        {
            "Q1?": make_answer("Q1?", "A1 [1]", cites=[("doc-a", "a#0", "Pia")]),
            "Q3?": make_answer("Q3?", "A3 [1]", cites=[("doc-a", "a#0", "Pia")], retrieved=["a#0"]),
        }
    )
    c = Case(id="f", question="Q3?", file="dev", expected_sources=("doc-a",), history=("Q1?", "Q2?"))
    run = run_case(service, c)
    assert service.calls == [
        ("Q1?", []),
        ("Q2?", [Turn("Q1?", "A1 [1]")]),
        ("Q3?", [Turn("Q1?", "A1 [1]"), Turn("Q2?", "")]),  # a refused turn keeps no answer text
    ]
    assert run.answer == "A3 [1]"
    assert run.history == (Turn("Q1?", "A1 [1]"), Turn("Q2?", ""))


def test_cases_do_not_share_history() -> None:
    service = FakeService()
    evaluate(service, [case("x", history=["H?"]), case("y")], k=2)
    assert service.calls[-1] == ("question y?", [])


def test_a_service_error_fails_the_case_but_not_the_run() -> None:
    service = FakeService(fail_on="question boom?")
    evaluation = evaluate(service, [case("boom"), case("ok", answerable=False)], k=2)
    boom, ok = evaluation.results
    assert boom.run.error == "the model server timed out"
    assert not boom.checks.passed and boom.checks.answer_pass is False
    assert ok.checks.passed
    assert evaluation.overall().errors == 1


def test_evaluate_reports_progress() -> None:
    seen: list[tuple[int, int]] = []
    evaluate(FakeService(), [case("a"), case("b")], k=2, on_progress=lambda d, t: seen.append((d, t)))
    assert seen == [(1, 2), (2, 2)]


# -- reports ---------------------------------------------------------------------------------------------------


def test_html_is_self_contained_and_escaped() -> None:
    results = hand_made()
    nasty = case("x<1>", ["doc-a"], [["<b>"]])
    results.append(result(nasty, make_answer(nasty.question, "<script>alert(1)</script>", retrieved=["a#0"])))
    html = render_html(Evaluation(results, k=2), thresholds=check_thresholds(summarize(results), []))
    assert html.startswith("<!DOCTYPE html>")
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "x&lt;1&gt;" in html
    assert "http://" not in html and "https://" not in html  # nothing loaded from elsewhere
    assert "quote not found in the chunk" in html
    markdown = render_markdown(Evaluation(results, k=2))
    assert "| retrieval hit@2 |" in markdown and "Failing cases" in markdown


# -- the command -----------------------------------------------------------------------------------------------


def good_service() -> FakeService:
    return FakeService(
        {
            "Hvem er næstformand i HK Kommunal?": make_answer(
                "Hvem er næstformand i HK Kommunal?",
                "Pia Lund Jeppesen er næstformand i HK Kommunal [1]",
                cites=[("doc-a", "a#0", "Pia Lund Jeppesen er næstformand i HK Kommunal.")],
                retrieved=["a#0", "b#0"],
            )
        }
    )


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeService], list[Any]]:
    """Make `kilde eval` use a fake service; returns the list of settings it was built with."""
    built: list[Any] = []

    def use(service: FakeService) -> list[Any]:
        def factory(settings: Any) -> FakeService:
            built.append(settings)
            return service

        monkeypatch.setattr(cli_eval, "SERVICE_FACTORY", factory)
        return built

    return use


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, ["eval", *args])


def test_json_holds_one_object_of_the_documented_shape(
    tmp_path: Path, inject: Callable[[FakeService], list[Any]]
) -> None:
    service = good_service()
    built = inject(service)
    got = invoke("--json", str(write(tmp_path, GOOD)))
    assert got.exit_code == 0, got.output
    payload = json.loads(got.stdout)  # stdout is exactly one JSON object
    assert set(payload) == {"summary", "cases"}
    summary = payload["summary"]
    assert summary["overall"]["answer_pass"] == 1.0
    assert summary["overall"]["refusal_accuracy"] == 1.0
    assert set(summary["by_file"]) == {"dev"}
    assert "name" in summary["by_tag"]
    assert "baseline" not in summary
    first, second = payload["cases"]
    assert {"id", "question", "answer", "refused", "citations", "retrieved", "latency_ms", "checks"} <= set(
        first
    )
    assert first["citations"] == [
        {
            "n": 1,
            "doc_id": "doc-a",
            "chunk_id": "a#0",
            "quote": "Pia Lund Jeppesen er næstformand i HK Kommunal.",
        }
    ]
    assert set(first["retrieved"][0]) == {"doc_id", "chunk_id", "score"}
    assert first["checks"]["passed"] is True and first["checks"]["hit_rank"] == 1
    assert second["refused"] is True and second["checks"]["refusal_correct"] is True
    assert service.calls[1] == ("Hvad er velfærdskommuner?", [])  # q2's history asked first
    assert service.closed
    assert built and built[0] is not None  # the group's settings reached the factory


def test_tables_without_json(tmp_path: Path, inject: Callable[[FakeService], list[Any]]) -> None:
    inject(FakeService())
    got = invoke(str(write(tmp_path, GOOD)))
    assert got.exit_code == 0, got.output
    assert "Metrics" in got.stdout and "answer pass (facts cited)" in got.stdout
    assert "Failing cases (1)" in got.stdout and "q1" in got.stdout


def test_a_metric_below_its_floor_exits_1_naming_it(
    tmp_path: Path, inject: Callable[[FakeService], list[Any]]
) -> None:
    inject(FakeService())  # refuses everything: answer pass 0, refusal accuracy 0.5
    got = invoke(
        "--json", "--min-answer-pass", "0.8", "--min-refusal-accuracy", "0.5", str(write(tmp_path, GOOD))
    )
    assert got.exit_code == 1
    assert "answer_pass 0.000 is below the floor 0.8" in got.stderr
    assert "refusal_accuracy" not in got.stderr
    payload = json.loads(got.stdout)
    assert payload["summary"]["passed"] is False


def test_floors_that_are_met_exit_0(tmp_path: Path, inject: Callable[[FakeService], list[Any]]) -> None:
    inject(good_service())
    got = invoke(
        "--min-hit-at-k",
        "1",
        "--min-faithfulness",
        "1",
        "--max-median-words",
        "10",
        str(write(tmp_path, GOOD)),
    )
    assert got.exit_code == 0, got.output


def test_a_malformed_file_exits_2_before_any_question(
    tmp_path: Path, inject: Callable[[FakeService], list[Any]]
) -> None:
    service = FakeService()
    built = inject(service)
    got = invoke("--json", str(write(tmp_path, GOOD.replace("  - id: q2\n", "  - answerable: false\n"))))
    assert got.exit_code == 2
    assert "case #2" in got.stderr and "'id'" in got.stderr
    assert got.stdout == ""
    assert not built and not service.calls


def test_an_unknown_source_exits_2_before_any_question(
    tmp_path: Path, inject: Callable[[FakeService], list[Any]]
) -> None:
    service = FakeService()
    inject(service)
    got = invoke(str(write(tmp_path, GOOD.replace("[doc-a]", "[doc-x]"))))
    assert got.exit_code == 2
    assert "doc-x" in got.stderr and "'expected_sources'" in got.stderr
    assert not service.calls


def test_reports_and_baseline_side_by_side(
    tmp_path: Path, inject: Callable[[FakeService], list[Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    inject(good_service())
    monkeypatch.setattr(cli_eval, "BASELINE_FACTORY", lambda _settings: FakeService())
    html, markdown = tmp_path / "r.html", tmp_path / "r.md"
    got = invoke(
        "--json",
        "--compare-baseline",
        "--html",
        str(html),
        "--markdown",
        str(markdown),
        str(write(tmp_path, GOOD)),
    )
    assert got.exit_code == 0, got.output
    summary = json.loads(got.stdout)["summary"]
    assert summary["overall"]["answer_pass"] == 1.0
    assert summary["baseline"]["overall"]["answer_pass"] == 0.0
    assert "Compared with the baseline" in html.read_text(encoding="utf-8")
    assert "all · baseline" in markdown.read_text(encoding="utf-8")


# -- the baseline ----------------------------------------------------------------------------------------------


def test_the_baseline_scores_like_the_service() -> None:
    from retrieval.evaluation.baseline import TutorialBaseline
    from retrieval.index.articles import load_articles
    from retrieval.index.embeddings import make_embeddings

    articles, problems = load_articles([CORPUS])
    assert not problems
    baseline = TutorialBaseline(articles, make_embeddings("fake"))
    try:
        assert {d.doc_id for d in baseline.documents()} == {a.doc_id for a in articles}
        answer = baseline.answer("Hvem er næstformand i HK Kommunal?")
        assert not answer.refused
        assert len(answer.retrieved) == 4 and len(answer.citations) == 2
        for citation in answer.citations:
            assert baseline.chunk_text(citation.chunk_id) == citation.quote
            assert len(citation.quote) <= 1000
        assert answer.text.startswith(answer.citations[0].quote)
        cases = load_cases([PROMPTS / "dev.yaml"], known_ids={d.doc_id for d in baseline.documents()})
        evaluation = evaluate(baseline, cases[:3], k=4, name="baseline")
        assert evaluation.overall().faithfulness == 1.0
    finally:
        baseline.close()
