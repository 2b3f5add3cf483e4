"""Limits per prompt file (`--floors`), scoring on a corpus of its own (`--corpus`), and `--sample`."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

import bot.cli.evaluate as cli_eval
from bot.cli.main import cli
from retrieval.errors import UsageError
from retrieval.evaluation.limits import (
    ALL,
    Threshold,
    check_limits,
    check_scopes,
    check_threshold,
    load_floors,
)
from retrieval.evaluation.runner import Evaluation
from tests.test_evaluation import GOOD, FakeService, good_service, hand_made, write

HELDOUT = GOOD.replace("q1", "h1").replace("q2", "h2").replace("Hvem er næstformand", "Hvem er formand")


def floors(tmp_path: Path, text: str) -> Path:
    return write(tmp_path, text, "floors.yaml")


# -- the floors file ---------------------------------------------------------------------------------------------


def test_a_floors_file_gives_limits_per_scope(tmp_path: Path) -> None:
    path = floors(
        tmp_path,
        "all:\n  min_overall: 0.5\ndev:\n  min_answer_pass: 0.8\n  max_median_words: 40\nheldout:\n"
        "  min_paraphrase_consistency: 0.9\n  max_answerable_refused: 0.2\n",
    )
    assert load_floors(path) == [
        Threshold("overall", 0.5, "min", ALL),
        Threshold("answer_pass", 0.8, "min", "dev"),
        Threshold("median_words", 40.0, "max", "dev"),
        Threshold("paraphrase_consistency", 0.9, "min", "heldout"),
        Threshold("answerable_refused", 0.2, "max", "heldout"),
    ]


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param("dev:\n  min_answer_pas: 0.8\n", "unknown metric 'answer_pas'", id="unknown-metric"),
        pytest.param("dev:\n  answer_pass: 0.8\n", "min_<metric> or max_<metric>", id="no-kind"),
        pytest.param("dev:\n  min_answer_pass: high\n", "must be a number", id="not-a-number"),
        pytest.param("dev:\n  min_answer_pass: 0\n", "can never fail", id="floor-of-zero"),
        pytest.param("dev:\n  max_answerable_refused: 1\n", "can never fail", id="ceiling-of-one"),
        pytest.param("dev:\n  min_overall: 1.5\n", "out of range", id="rate-above-one"),
        pytest.param("dev: 0.8\n", "mapping of limits", id="flat"),
        pytest.param("- dev\n", "expected a mapping", id="a-list"),
        pytest.param("dev: [\n", "not a valid YAML", id="broken"),
    ],
)
def test_a_bad_floors_file_is_one_usage_error(tmp_path: Path, text: str, needle: str) -> None:
    path = floors(tmp_path, text)
    with pytest.raises(UsageError) as info:
        load_floors(path)
    assert needle in str(info.value) and str(path) in str(info.value)


def test_a_limit_that_cannot_fail_is_refused() -> None:
    with pytest.raises(UsageError, match="can never fail"):
        check_threshold(Threshold("hit_at_k", 0.0, "min"))
    check_threshold(Threshold("hit_at_k", 1.0, "min"))  # a floor of 1 fails on any miss
    check_threshold(Threshold("median_words", 1000.0, "max"))  # words are not rates


def test_limits_are_checked_against_their_own_file() -> None:
    """hand_made(): dev holds a1 (passes) and a2 (misses a fact); heldout holds a3 (refused), u1, u2."""
    evaluation = Evaluation(hand_made(), k=2)
    got = check_limits(
        evaluation,
        [
            Threshold("answer_pass", 0.5, "min", "dev"),  # dev: 1/2
            Threshold("answer_pass", 0.5, "min", "heldout"),  # heldout: 0/1
            Threshold("overall", 0.4, "min", ALL),  # all: 2/5
        ],
    )
    assert [r.ok for r in got] == [True, False, True]
    assert got[1].message() == "heldout: answer_pass 0.000 is below the floor 0.5"
    assert got[1].to_dict()["scope"] == "heldout"
    with pytest.raises(UsageError, match="'extra'"):
        check_limits(evaluation, [Threshold("overall", 0.5, "min", "extra")])


def test_every_file_scored_needs_its_own_limits() -> None:
    limits = [Threshold("overall", 0.5, "min", "dev"), Threshold("overall", 0.5, "min", ALL)]
    check_scopes(limits, ["dev"], "f.yaml")
    with pytest.raises(UsageError, match="no limits for the prompt file 'heldout'"):
        check_scopes(limits, ["dev", "heldout"], "f.yaml")
    with pytest.raises(UsageError, match="limits for 'dev', but no prompt file"):
        check_scopes(limits, ["heldout"], "f.yaml")


# -- the command -------------------------------------------------------------------------------------------------


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeService], None]:
    def use(service: FakeService) -> None:
        monkeypatch.setattr(cli_eval, "SERVICE_FACTORY", lambda _settings: service)

    return use


def invoke(*args: str) -> Any:
    return CliRunner().invoke(cli, ["eval", *args])


def test_floors_gate_each_file_on_its_own(tmp_path: Path, inject: Callable[[FakeService], None]) -> None:
    inject(good_service())  # answers q1 (dev) right, refuses everything else
    dev, heldout = write(tmp_path, GOOD, "dev.yaml"), write(tmp_path, HELDOUT, "heldout.yaml")
    path = floors(
        tmp_path,
        "all:\n  min_overall: 0.7\ndev:\n  min_overall: 1\n  min_answer_pass: 1\n"
        "heldout:\n  min_overall: 0.5\n  min_answer_pass: 0.5\n",
    )
    got = invoke("--json", "--floors", str(path), str(dev), str(heldout))
    assert got.exit_code == 1, got.output
    # all: 3/4; dev: 2/2; heldout: h1 refused, h2 refused -> overall 1/2, answer pass 0
    assert got.stderr.strip().splitlines() == [
        "kilde: eval: heldout: answer_pass 0.000 is below the floor 0.5",
    ]
    summary = json.loads(got.stdout)["summary"]
    assert [(r["scope"], r["metric"], r["ok"]) for r in summary["limits"]] == [
        ("all", "overall", True),
        ("dev", "overall", True),
        ("dev", "answer_pass", True),
        ("heldout", "overall", True),
        ("heldout", "answer_pass", False),
    ]
    assert summary["by_file"]["heldout"]["overall"] == 0.5


def test_a_file_without_floors_exits_2_before_any_question(
    tmp_path: Path, inject: Callable[[FakeService], None]
) -> None:
    service = FakeService()
    inject(service)
    dev, heldout = write(tmp_path, GOOD, "dev.yaml"), write(tmp_path, HELDOUT, "heldout.yaml")
    got = invoke("--floors", str(floors(tmp_path, "dev:\n  min_overall: 0.5\n")), str(dev), str(heldout))
    assert got.exit_code == 2
    assert "no limits for the prompt file 'heldout'" in got.stderr
    assert not service.calls


def test_a_floor_option_of_zero_is_a_usage_error(
    tmp_path: Path, inject: Callable[[FakeService], None]
) -> None:
    inject(FakeService())
    got = invoke("--min-overall", "0", str(write(tmp_path, GOOD)))
    assert got.exit_code == 2 and "can never fail" in got.stderr


def test_the_new_metrics_in_the_tables(tmp_path: Path, inject: Callable[[FakeService], None]) -> None:
    inject(good_service())
    got = invoke("--min-overall", "0.9", "--min-unanswerable-refused", "1", str(write(tmp_path, GOOD)))
    assert got.exit_code == 0, got.output
    for needle in ("overall score", "unanswerable refused", "facts in answer text", "Per language", "Limits"):
        assert needle in got.stdout


def test_sample_scores_a_seeded_subset(tmp_path: Path, inject: Callable[[FakeService], None]) -> None:
    many = "cases:\n" + "".join(
        f'  - id: u{i}\n    question: "Q{i}?"\n    answerable: false\n' for i in range(20)
    )
    path = write(tmp_path, many)
    picked = []
    for _ in range(2):
        service = FakeService()
        inject(service)
        got = invoke("--json", "--sample", "5", "--seed", "3", str(path))
        assert got.exit_code == 0, got.output
        payload = json.loads(got.stdout)
        assert payload["summary"]["cases_scored"] == 5
        picked.append([c["id"] for c in payload["cases"]])
        assert [q for q, _ in service.calls] == [f"Q{c[1:]}?" for c in picked[-1]]
    assert picked[0] == picked[1]


ARTICLE = """---
title: "{title}"
date: 2024-01-0{n}
---

{text}
"""


def test_corpus_scores_against_a_temporary_index_of_its_own(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = tmp_path / "tiny"
    corpus.mkdir()
    (corpus / "mole-facts.md").write_text(
        ARTICLE.format(title="Moles", n=1, text="The star-nosed mole lives in wet lowlands of Canada."),
        encoding="utf-8",
    )
    (corpus / "owl-facts.md").write_text(
        ARTICLE.format(title="Owls", n=2, text="The snowy owl hunts lemmings on the Arctic tundra."),
        encoding="utf-8",
    )
    prompts = write(
        tmp_path,
        'cases:\n  - id: s1\n    question: "Where does the star-nosed mole live?"\n'
        '    expected_sources: [mole-facts]\n    must_include: [["lowlands"]]\n',
        "tiny.yaml",
    )
    seen: list[Any] = []
    documents: list[str] = []

    def factory(settings: Any) -> Any:
        seen.append(settings)
        service = cli_eval.build_real_service(settings)
        documents.extend(d.doc_id for d in service.documents())
        return service

    monkeypatch.setattr(cli_eval, "SERVICE_FACTORY", factory)
    monkeypatch.setenv("KILDE_EMBEDDER", "fake")
    own = tmp_path / "own-data"
    got = CliRunner().invoke(
        cli, ["--data-dir", str(own), "eval", "--json", "--corpus", str(corpus), str(prompts)]
    )
    assert got.exit_code == 0, got.output
    payload = json.loads(got.stdout)
    assert [c["id"] for c in payload["cases"]] == ["s1"]
    assert sorted(documents) == ["mole-facts", "owl-facts"]  # the index holds the corpus given, only
    assert "indexing" in got.stderr
    (scratch,) = seen
    assert scratch.corpus_dir == corpus
    assert not scratch.data_dir.exists()  # the temporary index is gone
    assert not own.exists()  # the configured index was not touched


def test_corpus_with_unknown_sources_exits_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The prompts are checked against the corpus given, not the configured one."""
    corpus = tmp_path / "tiny"
    corpus.mkdir()
    (corpus / "owl-facts.md").write_text(
        ARTICLE.format(title="Owls", n=2, text="Owls hunt."), encoding="utf-8"
    )
    monkeypatch.setenv("KILDE_EMBEDDER", "fake")
    got = CliRunner().invoke(
        cli, ["--data-dir", str(tmp_path / "d"), "eval", "--corpus", str(corpus), str(write(tmp_path, GOOD))]
    )
    assert got.exit_code == 2
    assert "doc-a" in got.stderr and "owl-facts" in got.stderr


def test_the_ci_floors_cover_every_bundled_prompt_file_and_the_judges() -> None:
    from retrieval.evaluation.manifest import load_manifest, select_for_scoring
    from retrieval.evaluation.runner import load_cases
    from retrieval.settings import PROJECT_ROOT
    from tests.test_evaluation import PROMPTS

    path = PROJECT_ROOT / ".ci" / "eval-floors.yaml"
    limits = load_floors(path)
    manifest = load_manifest()
    judges = [PROJECT_ROOT / "benchmarks" / "judge" / name / "questions.yaml" for name in ("newsroom", "newsroom-b")]
    for run in ([PROMPTS], *([j] for j in judges)):  # the runs of .ci/run, each with the manifest's labels
        labels = {c.file for c in select_for_scoring(load_cases(run), manifest).cases}
        check_scopes(limits, labels, str(path), manifest.labels())
    assert {"judge-newsroom", "judge-newsroom-b", "paraphrase", "heldout2"} <= {t.scope for t in limits}


def test_the_terminal_lists_only_missed_limits_when_there_are_many() -> None:
    from rich.console import Console

    from retrieval.evaluation.limits import ThresholdResult
    from retrieval.evaluation.reports import thresholds_table

    met = [ThresholdResult(Threshold("overall", 0.5, "min", s), 0.6) for s in ("dev", "heldout") * 7]
    assert str(thresholds_table(met)) == "Limits (dev, heldout): 14 of 14 met"  # a rich Text: never markup
    missed = ThresholdResult(Threshold("answer_pass", 0.5, "min", "heldout"), 0.4)
    console = Console(width=100, record=True)
    console.print(thresholds_table([*met, missed]))
    text = console.export_text()
    assert "14 of 15 met" in text and "answer_pass" in text and "FAIL" in text and " ok " not in text
