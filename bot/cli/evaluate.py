"""`kilde eval FILE...`: score the answer service on test prompts, optionally against the tutorial baseline.

Progress and errors go to stderr; stdout holds the tables, or with --json exactly one JSON object. Exit 1 when
a metric misses its floor (or ceiling), naming it on stderr; exit 2 for a malformed prompt file or bad option.
`--floors FILE` sets limits per prompt file (see `retrieval.evaluation.limits`); `--corpus DIR` scores the prompts
against DIR's articles in a temporary index instead of the configured one.
Tests swap `SERVICE_FACTORY` / `BASELINE_FACTORY` for fakes.
"""

from __future__ import annotations

import json
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from bot.cli.edge import err, one_line_errors
from bot.terminal.render import progress_bar
from retrieval.errors import KildeError, UsageError
from retrieval.evaluation.limits import (
    Threshold,
    ThresholdResult,
    check_limits,
    check_scopes,
    check_threshold,
    load_floors,
)
from retrieval.evaluation.runner import (
    DEFAULT_K,
    Case,
    EvalService,
    Evaluation,
    check_sources,
    evaluate,
    load_cases,
    sample_cases,
)
from retrieval.settings import Settings

ServiceFactory = Callable[[Settings], EvalService]


def build_real_service(settings: Settings) -> EvalService:
    """The service `kilde ask` uses, indexing the corpus first if it changed."""
    from bot.cli.indexing import ensure_index
    from retrieval.service import build_service

    ensure_index(settings)
    return build_service(settings)


def build_baseline(settings: Settings) -> EvalService:
    try:
        from retrieval.evaluation.baseline import TutorialBaseline
    except ImportError as exc:
        raise KildeError(
            f"the baseline needs the source checkout (retrieval/evaluation/baseline.py): {exc}"
        ) from None
    return TutorialBaseline.from_settings(settings)


SERVICE_FACTORY: ServiceFactory = build_real_service
BASELINE_FACTORY: ServiceFactory = build_baseline

# option name -> (metric, kind)
LIMIT_OPTIONS: dict[str, tuple[str, str]] = {
    "min_overall": ("overall", "min"),
    "min_unanswerable_refused": ("unanswerable_refused", "min"),
    "min_paraphrase_consistency": ("paraphrase_consistency", "min"),
    "min_hit_at_k": ("hit_at_k", "min"),
    "min_mrr": ("mrr", "min"),
    "min_recall_at_k": ("recall_at_k", "min"),
    "min_citation_precision": ("citation_precision", "min"),
    "min_faithfulness": ("faithfulness", "min"),
    "min_answer_pass": ("answer_pass", "min"),
    "min_refusal_accuracy": ("refusal_accuracy", "min"),
    "max_median_words": ("median_words", "max"),
    "max_p95_ms": ("latency_p95_ms", "max"),
}


def thresholds_from(options: dict[str, float | None]) -> list[Threshold]:
    out = []
    for option, (metric, kind) in LIMIT_OPTIONS.items():
        value = options.get(option)
        if value is not None:
            threshold = Threshold(metric, float(value), "min" if kind == "min" else "max")
            check_threshold(threshold)
            out.append(threshold)
    return out


def settings_of(ctx: click.Context) -> Settings:
    found = ctx.find_object(Settings)
    if found is not None:
        return found
    try:
        return Settings()
    except ValueError as exc:
        raise UsageError(f"bad setting: {' '.join(str(exc).splitlines()[:3])}") from None


@contextmanager
def corpus_settings(settings: Settings, corpus: Path, err: Console) -> Iterator[Settings]:
    """Settings whose index is a temporary one holding `corpus` only; the index is removed afterwards."""
    from retrieval.indexer import Indexer

    with tempfile.TemporaryDirectory(prefix="kilde-eval-", ignore_cleanup_errors=True) as tmp:
        scratch = settings.replace(data_dir=Path(tmp) / "data", corpus_dir=corpus, chroma_url=None)
        err.print(f"kilde: eval: indexing {corpus} into a temporary index …", markup=False)
        bar, update = progress_bar(err, "indexing")
        with bar:
            report = Indexer(scratch).ingest([corpus], update)
        for problem in report.problems:
            err.print(f"kilde: skipped {problem}", markup=False)
        if not report.added:
            raise KildeError(f"--corpus {corpus}: no article could be indexed")
        yield scratch


def run_service(
    factory: ServiceFactory, settings: Settings, cases: list[Case], *, k: int, name: str, err: Console
) -> Evaluation:
    service = factory(settings)
    try:
        check_sources(cases, {d.doc_id for d in service.documents()})
        bar, update = progress_bar(err, f"{name}: asking")
        with bar:
            return evaluate(service, cases, k, update, name=name)
    finally:
        close = getattr(service, "close", None)
        if callable(close):
            close()


def json_payload(
    evaluation: Evaluation, baseline: Evaluation | None, limits: list[ThresholdResult], files: list[str]
) -> dict[str, Any]:
    summary = evaluation.summary_dict()
    summary["files"] = files
    summary["cases_scored"] = len(evaluation.results)
    summary["limits"] = [r.to_dict() for r in limits]
    summary["passed"] = all(r.ok for r in limits)
    if baseline is not None:
        summary["baseline"] = baseline.summary_dict()
    return {"summary": summary, "cases": [r.to_dict() for r in evaluation.results]}


def print_tables(
    out: Console, evaluation: Evaluation, baseline: Evaluation | None, limits: list[ThresholdResult]
) -> None:
    from retrieval.evaluation import reports as report

    out.print(report.metrics_table(report.columns(evaluation), evaluation.k, f"Metrics (k={evaluation.k})"))
    if baseline is not None:
        for table in report.comparison_tables(evaluation, baseline):
            out.print(table)
    out.print(report.languages_table(evaluation))
    if evaluation.by_tag():
        out.print(report.tags_table(evaluation))
    if evaluation.paraphrase():
        out.print(report.paraphrase_table(evaluation))
    if limits:
        out.print(report.thresholds_table(limits))
    if evaluation.failures():
        out.print(report.failures_table(evaluation, report.TERMINAL_FAILURES))
    else:
        out.print("Every case passed.")


def write_file(path: Path, text: str) -> None:
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise KildeError(f"cannot write {path}: {exc.strerror or type(exc).__name__}") from None


def _limit(name: str, help_text: str, upper: float | None = 1.0) -> Callable[[Any], Any]:
    return click.option(name, type=click.FloatRange(0, upper), default=None, metavar="X", help=help_text)


@click.command("eval")
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (summary and cases) on stdout.")
@click.option(
    "--k",
    "k",
    type=click.IntRange(1, 100),
    default=DEFAULT_K,
    show_default=True,
    help="Cut-off for hit@k and recall@k.",
)
@_limit("--min-overall", "Fail (exit 1) when the overall score is below X.")
@_limit("--min-answer-pass", "Fail when the answer pass rate (facts in cited passages) is below X.")
@_limit("--min-unanswerable-refused", "Fail when the share of unanswerable cases refused is below X.")
@_limit("--min-refusal-accuracy", "Fail when refusal accuracy is below X.")
@_limit("--min-paraphrase-consistency", "Fail when the paraphrase consistency is below X.")
@_limit("--min-hit-at-k", "Fail when retrieval hit@k is below X.")
@_limit("--min-mrr", "Fail when retrieval MRR is below X.")
@_limit("--min-recall-at-k", "Fail when retrieval recall@k is below X.")
@_limit("--min-citation-precision", "Fail when citation precision is below X.")
@_limit("--min-faithfulness", "Fail when citation faithfulness is below X.")
@_limit("--max-median-words", "Fail when the median answer is longer than X words.", None)
@_limit("--max-p95-ms", "Fail when the 95th percentile latency is above X ms.", None)
@click.option(
    "--html", "html_path", type=click.Path(dir_okay=False, path_type=Path), help="Write an HTML report."
)
@click.option(
    "--markdown",
    "markdown_path",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write a Markdown summary.",
)
@click.option(
    "--floors",
    "floors_path",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="YAML of limits per prompt file (and 'all'); every file scored needs its own. Exit 1 below one.",
)
@click.option(
    "--corpus",
    type=click.Path(exists=True, file_okay=False, path_type=Path),
    metavar="DIR",
    help="Score against the articles in DIR, indexed into a temporary index (removed afterwards).",
)
@click.option(
    "--sample",
    type=click.IntRange(1),
    default=None,
    metavar="N",
    help="Score N cases drawn at random (the same ones for the same --seed).",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for --sample.")
@click.option("--compare-baseline", is_flag=True, help="Also score the plain LangChain tutorial pipeline.")
@click.pass_context
def eval_command(
    ctx: click.Context,
    /,
    *,
    files: tuple[Path, ...],
    as_json: bool,
    k: int,
    html_path: Path | None,
    markdown_path: Path | None,
    floors_path: Path | None,
    corpus: Path | None,
    sample: int | None,
    seed: int,
    compare_baseline: bool,
    **limits: float | None,
) -> None:
    """Score the answers on test prompts: FILE is a prompt file (YAML) or a directory of them."""
    failed = one_line_errors(_run)(
        ctx,
        files,
        as_json=as_json,
        k=k,
        html_path=html_path,
        markdown_path=markdown_path,
        floors_path=floors_path,
        corpus=corpus,
        sample=sample,
        seed=seed,
        compare_baseline=compare_baseline,
        limits=limits,
        err=err,
    )
    if failed:
        for result in failed:
            err.print(f"kilde: eval: {result.message()}", markup=False)
        sys.exit(1)


def _run(
    ctx: click.Context,
    files: tuple[Path, ...],
    *,
    as_json: bool,
    k: int,
    html_path: Path | None,
    markdown_path: Path | None,
    floors_path: Path | None,
    corpus: Path | None,
    sample: int | None,
    seed: int,
    compare_baseline: bool,
    limits: dict[str, float | None],
    err: Console,
) -> list[ThresholdResult]:
    """Everything but the exit: returns the limits that were not met."""
    # The prompt files and the limits are checked before anything is loaded or asked.
    thresholds = thresholds_from(limits)
    cases = load_cases(files)
    if sample is not None:
        cases = sample_cases(cases, sample, seed)
    if floors_path is not None:
        floors = load_floors(floors_path)
        check_scopes(floors, list(dict.fromkeys(c.file for c in cases)), str(floors_path))
        thresholds += floors
    settings = settings_of(ctx)
    with _maybe_corpus(settings, corpus, err) as settings:
        evaluation = run_service(SERVICE_FACTORY, settings, cases, k=k, name="kilde", err=err)
        baseline = None
        if compare_baseline:
            baseline = run_service(BASELINE_FACTORY, settings, cases, k=k, name="baseline", err=err)
    results = check_limits(evaluation, thresholds)
    if html_path is not None or markdown_path is not None:
        from retrieval.evaluation import reports as report

        if html_path is not None:
            write_file(html_path, report.render_html(evaluation, baseline, results))
            err.print(f"kilde: wrote {html_path}", markup=False)
        if markdown_path is not None:
            write_file(markdown_path, report.render_markdown(evaluation, baseline, results))
            err.print(f"kilde: wrote {markdown_path}", markup=False)
    if as_json:
        payload = json_payload(evaluation, baseline, results, [str(f) for f in files])
        click.echo(json.dumps(payload, ensure_ascii=False))
    else:
        print_tables(Console(highlight=False), evaluation, baseline, results)
    return [r for r in results if not r.ok]


@contextmanager
def _maybe_corpus(settings: Settings, corpus: Path | None, err: Console) -> Iterator[Settings]:
    if corpus is None:
        yield settings
        return
    with corpus_settings(settings, corpus, err) as scratch:
        yield scratch
