"""The prompt manifest: every prompt file has a role, fitting and tuning refuse held-out and judge files, and
held-out figures leave out the cases that repeat a tuning case."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

import bot.cli.evaluate as cli_eval
from bot.cli.main import cli
from retrieval.errors import UsageError
from retrieval.evaluation.cases import check_sources, load_cases
from retrieval.evaluation.limits import Threshold, check_scopes
from retrieval.evaluation.manifest import (
    DEFAULT_MANIFEST,
    Manifest,
    chat_key,
    check_tuning_files,
    load_manifest,
    load_tuning_cases,
    normalise,
    select_for_scoring,
)
from tests.test_evaluation import GOOD, FakeService, good_service, write

ROOT = Path(__file__).resolve().parents[1]
PROMPTS = ROOT / "tests" / "prompts"
HELD_OUT = ("heldout.yaml", "heldout2.yaml", "paraphrase.yaml")
TUNING = ("dev.yaml", "extra.yaml", "extra2.yaml", "crosslang.yaml")
JUDGE = ROOT / "benchmarks" / "judge" / "newsroom" / "questions.yaml"
SQUAD_DA = ROOT / "benchmarks" / "prompts" / "squad-da.yaml"
TRAIN = ROOT / "benchmarks" / "train" / "newsroom" / "questions.yaml"


@pytest.fixture(scope="module")
def manifest() -> Manifest:
    return load_manifest()


# -- the repository's manifest ---------------------------------------------------------------------------------


def test_every_prompt_file_in_the_repository_has_a_role(manifest: Manifest) -> None:
    prompt_files = [
        *(p for p in PROMPTS.glob("*.yaml") if p.name != DEFAULT_MANIFEST.name),
        *ROOT.glob("benchmarks/**/questions.yaml"),
        *(ROOT / "benchmarks" / "prompts").glob("*.yaml"),
    ]
    assert len(prompt_files) >= 10
    assert [p for p in prompt_files if manifest.role(p) is None] == []
    inside = [e for e in manifest.entries if e.path.is_relative_to(ROOT)]
    assert [e.path for e in inside if not e.path.is_file()] == []  # no typo in the manifest


def test_roles_are_the_documented_ones(manifest: Manifest) -> None:
    assert {manifest.role(PROMPTS / n) for n in TUNING} == {"tuning"}
    assert {manifest.role(PROMPTS / n) for n in HELD_OUT} == {"held-out"}
    assert manifest.role(JUDGE) == manifest.role(SQUAD_DA) == "judge"
    assert manifest.role(TRAIN) == "tuning"


def test_every_in_repository_file_names_documents_of_its_own_corpus(manifest: Manifest) -> None:
    for entry in manifest.entries:
        if not entry.path.is_relative_to(ROOT):
            continue
        corpus = entry.corpus or ROOT / "corpus"
        if not corpus.is_dir():  # the SQuAD articles sit outside the repository
            continue
        check_sources(load_cases([entry.path]), {p.stem for p in corpus.glob("*.md")})


def test_the_judge_and_training_articles_never_overlap(manifest: Manifest) -> None:
    judge, train = (manifest.entry(p) for p in (JUDGE, TRAIN))
    assert judge is not None and train is not None and judge.corpus and train.corpus
    judge_docs = {p.read_text(encoding="utf-8") for p in judge.corpus.glob("*.md")}
    train_docs = {p.read_text(encoding="utf-8") for p in train.corpus.glob("*.md")}
    assert len(judge_docs) >= 8 and len(train_docs) >= 6 and not judge_docs & train_docs
    judge_chats = {chat_key(c) for c in load_cases([JUDGE])}
    assert not judge_chats & {chat_key(c) for c in load_cases([TRAIN])}


def test_a_prompt_directory_does_not_read_the_manifest_as_a_prompt_file() -> None:
    files = {str(p) for p in PROMPTS.glob("*.yaml")}
    assert {c.path for c in load_cases([PROMPTS])} == files - {str(PROMPTS / DEFAULT_MANIFEST.name)}


# -- fitting and tuning: the one door ----------------------------------------------------------------------------


@pytest.mark.parametrize("path", [*(PROMPTS / n for n in HELD_OUT), JUDGE, SQUAD_DA], ids=lambda p: p.name)
def test_fitting_refuses_held_out_and_judge_files(manifest: Manifest, path: Path) -> None:
    with pytest.raises(UsageError) as info:
        load_tuning_cases([PROMPTS / "dev.yaml", path], manifest)
    message = str(info.value)
    assert "\n" not in message and str(path) in message and "never fit, tune or choose" in message


def test_fitting_accepts_the_tuning_files(manifest: Manifest) -> None:
    files = [*(PROMPTS / n for n in TUNING), TRAIN]
    cases = load_tuning_cases(files, manifest)
    assert len(cases) == sum(len(load_cases([f])) for f in files)


def test_a_copy_of_a_held_out_file_under_another_name_is_refused(manifest: Manifest, tmp_path: Path) -> None:
    copy = tmp_path / "my-training.yaml"
    copy.write_text((PROMPTS / "heldout2.yaml").read_text(encoding="utf-8"), encoding="utf-8")
    with pytest.raises(UsageError, match="repeats 104 held-out or judge question"):
        check_tuning_files([copy], manifest)
    fresh = write(tmp_path, GOOD, "fresh.yaml")  # questions of its own: may be tuned on
    assert check_tuning_files([fresh], manifest) == [fresh]


def test_a_tuning_question_copied_into_a_held_out_file_does_not_block_its_tuning_file(manifest: Manifest) -> None:
    # paraphrase.yaml repeats dev.yaml's questions; dev.yaml stays a tuning file all the same
    assert check_tuning_files([PROMPTS / "dev.yaml"], manifest) == [PROMPTS / "dev.yaml"]


def test_the_fit_script_refuses_a_held_out_file_in_one_line(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    import fit_answerer

    sneaky = fit_answerer.Dataset("danish", ROOT / "corpus", (PROMPTS / "heldout2.yaml",), True)
    monkeypatch.setattr(fit_answerer, "DATASETS", (sneaky,))
    with pytest.raises(SystemExit) as info:
        fit_answerer.main(["--work", str(tmp_path / "work")])
    message = str(info.value.code)
    assert message.startswith("fit_answerer.py: ") and "heldout2.yaml is a held-out file" in message
    assert "\n" not in message and not (tmp_path / "work").exists()  # refused before any work


# -- tuning duplicates left out of held-out figures ------------------------------------------------------------


def test_normalised_questions_ignore_case_punctuation_and_spaces() -> None:
    assert normalise("  Hvem er KL's formand?") == normalise("hvem er kl s  formand")
    assert normalise("Hvem er formand?") != normalise("Hvem er næstformand?")


def test_the_same_question_after_another_history_is_another_chat() -> None:
    first, second = load_cases([PROMPTS / "dev.yaml"])[:2]
    assert chat_key(first) != chat_key(second)
    from dataclasses import replace

    assert chat_key(replace(first, history=("Hvem er hun?",))) != chat_key(first)


def test_held_out_cases_repeating_a_tuning_case_are_left_out(manifest: Manifest) -> None:
    cases = load_cases([PROMPTS])
    selection = select_for_scoring(cases, manifest)
    raw = yaml.safe_load((PROMPTS / "paraphrase.yaml").read_text(encoding="utf-8"))["cases"]
    originals = {c["id"] for c in raw if "original" in c["tags"]}  # copied word for word, says the file
    left = selection.left_out
    assert set(left) == {"paraphrase"} and originals <= set(left["paraphrase"])
    assert len(selection.cases) == len(cases) - len(left["paraphrase"])
    tuned = {normalise(c.question) for c in cases if c.file in {n.removesuffix(".yaml") for n in TUNING}}
    kept_held_out = [c for c in selection.cases if c.role == "held-out"]
    assert kept_held_out and all(
        normalise(c.question) not in tuned or c.history for c in kept_held_out
    )  # what is left is held out
    assert {c.role for c in selection.cases} == {"tuning", "held-out"}


def test_the_manifest_label_names_the_judge_file(manifest: Manifest) -> None:
    selection = select_for_scoring(load_cases([JUDGE]), manifest)
    assert {c.file for c in selection.cases} == {"judge-newsroom"}
    # one off-topic question happens to be a tuning question too (crosslang.yaml): not a judge of anything new
    assert selection.left_out == {"judge-newsroom": ["jn157"]}


# -- kilde eval with the manifest -------------------------------------------------------------------------------


@pytest.fixture
def inject(monkeypatch: pytest.MonkeyPatch) -> Callable[[FakeService], None]:
    def use(service: FakeService) -> None:
        monkeypatch.setattr(cli_eval, "SERVICE_FACTORY", lambda _settings: service)

    return use


def small_manifest(tmp_path: Path, tuning: Path, held_out: Path) -> Path:
    text = f"root: .\nfiles:\n  {tuning.name}: {{role: tuning}}\n  {held_out.name}: {{role: held-out}}\n"
    return write(tmp_path, text, "manifest.yaml")


def test_kilde_eval_leaves_tuning_duplicates_out_of_held_out_and_says_so(
    tmp_path: Path, inject: Callable[[FakeService], None]
) -> None:
    inject(good_service())
    tuning = write(tmp_path, GOOD, "dev.yaml")
    copied = GOOD.replace("id: q1", "id: h1").replace("id: q2", "id: h2")  # both chats repeat dev's
    fresh = (
        "  - id: h3\n    question: 'Hvem er formand i HK Kommunal?'\n    expected_sources: [doc-a]\n"
        "    must_include: [['Pia']]\n"
    )
    held_out = write(tmp_path, copied + fresh, "heldout.yaml")
    manifest = small_manifest(tmp_path, tuning, held_out)
    got = CliRunner().invoke(cli, ["eval", "--manifest", str(manifest), "--json", str(tuning), str(held_out)])
    assert got.exit_code == 0, got.output
    summary = json.loads(got.stdout)["summary"]
    assert summary["left_out"] == {"heldout": ["h1", "h2"]}
    assert summary["by_file"]["heldout"]["cases"] == 1 and summary["by_file"]["dev"]["cases"] == 2
    assert set(summary["by_role"]) == {"tuning", "held-out"}
    assert summary["by_role"]["held-out"]["cases"] == 1
    assert "heldout: 2 case(s) left out" in got.stderr

    tables = CliRunner().invoke(cli, ["eval", "--manifest", str(manifest), str(tuning), str(held_out)])
    assert tables.exit_code == 0, tables.output
    assert "heldout: 2 case(s) left out" in tables.stdout and "Per role" in tables.stdout


def test_floors_for_a_manifest_file_scored_in_another_run_wait(
    tmp_path: Path, inject: Callable[[FakeService], None]
) -> None:
    inject(good_service())
    tuning = write(tmp_path, GOOD, "dev.yaml")
    held_out = write(tmp_path, GOOD.replace("id: q", "id: h").replace("Hvem er næst", "Hvem er "), "heldout.yaml")
    manifest = small_manifest(tmp_path, tuning, held_out)
    floors = write(tmp_path, "dev:\n  min_answer_pass: 0.9\nheldout:\n  min_overall: 0.9\n", "floors.yaml")
    args = ["eval", "--manifest", str(manifest), "--floors", str(floors), str(tuning)]
    assert CliRunner().invoke(cli, args).exit_code == 0  # heldout's floors wait for its own run
    typo = write(tmp_path, "dev:\n  min_answer_pass: 0.9\nheldot:\n  min_overall: 0.9\n", "typo.yaml")
    got = CliRunner().invoke(cli, ["eval", "--manifest", str(manifest), "--floors", str(typo), str(tuning)])
    assert got.exit_code == 2 and "limits for 'heldot'" in got.output
    with pytest.raises(UsageError, match="limits for 'heldout'"):  # without the manifest's names, as before
        check_scopes([Threshold("overall", 0.9, "min", "heldout")], ["dev"], "f.yaml")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        pytest.param("root: .\nfiles:\n  a.yaml: {role: tuned}\n", "role must be one of", id="bad-role"),
        pytest.param("root: .\nfiles:\n  a.yaml: {role: tuning, size: 3}\n", "unknown key 'size'", id="key"),
        pytest.param("root: .\nfiles: {}\n", "expected 'root' and 'files'", id="empty"),
        pytest.param("root: .\nfiles:\n  a.yaml: tuning\n", "expected a mapping", id="flat"),
        pytest.param("files: [\n", "not valid YAML", id="broken"),
        pytest.param("root: .\nfiles:\n  a.yaml: {role: tuning}\nextra: 1\n", "unknown top-level", id="top"),
        pytest.param("root: .\nfiles:\n  a.yaml: {role: tuning}\n  ./a.yaml: {role: judge}\n", "same file", id="twice"),
    ],
)
def test_a_bad_manifest_is_one_usage_error(tmp_path: Path, text: str, needle: str) -> None:
    path = write(tmp_path, text, "manifest.yaml")
    with pytest.raises(UsageError) as info:
        load_manifest(path)
    assert needle in str(info.value) and str(path) in str(info.value) and "\n" not in str(info.value)


def test_two_files_with_one_label_are_refused(tmp_path: Path) -> None:
    a = write(tmp_path, GOOD, "a.yaml")
    b = write(tmp_path, GOOD.replace("id: q", "id: b"), "b.yaml")
    path = write(
        tmp_path, "root: .\nfiles:\n  a.yaml: {role: tuning, label: x}\n  b.yaml: {role: judge, label: x}\n", "m.yaml"
    )
    with pytest.raises(UsageError, match="both labelled 'x'"):
        select_for_scoring(load_cases([a, b]), load_manifest(path))
