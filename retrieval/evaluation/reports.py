"""Rendering an `Evaluation`: rich tables for the terminal, a Markdown summary, a self-contained HTML report.

Case ids, questions, answers, titles and file names come from files and a model: every one of them passes
`safe_text` (no escape sequences or bidi controls), and reaches rich as `Text`, never as markup (a question with
`[/b]` in it is shown as it is).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from html import escape

from rich.table import Table
from rich.text import Text

from retrieval.evaluation.limits import ALL, ThresholdResult
from retrieval.evaluation.metrics import METRICS, CaseResult, Evaluation, Metrics
from retrieval.safe_text import safe_text

# the columns of the per-language and per-tag tables
ROW_METRICS = ("overall", "answer_pass", "text_pass", "unanswerable_refused", "refusal_accuracy", "hit_at_k")
TERMINAL_FAILURES = 40  # failing cases listed in the terminal; the reports list them all
Column = tuple[str, Metrics]


def format_metric(name: str, value: float | None) -> str:
    if value is None:
        return "–"
    kind = METRICS[name][1] if name in METRICS else "count"
    if kind == "rate":
        return f"{value:.3f}"
    if kind == "ms":
        return f"{value:,.0f} ms"
    if kind == "words":
        return f"{value:g}"
    return f"{value:,.0f}"


def metric_label(name: str, k: int) -> str:
    label = METRICS[name][0]
    return label.replace("@k", f"@{k}")


def columns(evaluation: Evaluation) -> list[Column]:
    """Every case pooled, then one column per prompt file (so held-out is read apart from dev and extra)."""
    by_file = evaluation.by_file()
    return [(ALL, evaluation.overall()), *(by_file.items() if len(by_file) > 1 else [])]


def role_columns(evaluation: Evaluation) -> list[Column]:
    """One column per role of the prompt files (tuning, held-out, judge): never read pooled across roles."""
    return list(evaluation.by_role().items())


def comparison_columns(main: Evaluation, baseline: Evaluation) -> list[Column]:
    pairs = []
    base = dict(columns(baseline))
    for scope, metrics in columns(main):
        pairs.append((f"{scope} · {main.name}", metrics))
        if scope in base:
            pairs.append((f"{scope} · {baseline.name}", base[scope]))
    return pairs


def metric_rows(cols: Sequence[Column], k: int) -> list[list[str]]:
    """The body of a metrics table: one row per metric, one cell per column."""
    rows = [
        [
            "cases (answerable/unanswerable)",
            *(f"{m.cases} ({m.answerable}/{m.unanswerable})" for _, m in cols),
        ],
        ["failed cases", *(str(m.failed) for _, m in cols)],
    ]
    for name in METRICS:
        rows.append([metric_label(name, k), *(format_metric(name, getattr(m, name)) for _, m in cols)])
    return rows


def group_rows(first: str, groups: dict[str, Metrics], k: int) -> tuple[list[str], list[list[str]]]:
    """One row per language or tag: its cases and the headline metrics."""
    header = [first, "cases", *(metric_label(n, k) for n in ROW_METRICS)]
    rows = [
        [
            name,
            f"{m.cases} ({m.answerable}/{m.unanswerable})",
            *(format_metric(n, getattr(m, n)) for n in ROW_METRICS),
        ]
        for name, m in groups.items()
    ]
    return header, rows


def tag_rows(evaluation: Evaluation) -> tuple[list[str], list[list[str]]]:
    return group_rows("tag", evaluation.by_tag(), evaluation.k)


def language_rows(evaluation: Evaluation) -> tuple[list[str], list[list[str]]]:
    return group_rows("language", evaluation.by_language(), evaluation.k)


def paraphrase_rows(evaluation: Evaluation) -> tuple[list[str], list[list[str]]]:
    header = ["group", "cases", "answered", "right", "same verdict", "same passage", "consistent"]
    rows = [
        [
            g.group,
            " ".join(g.case_ids),
            f"{g.answered}/{len(g.case_ids)}",
            f"{g.correct}/{len(g.case_ids)}",
            _yes(g.same_verdict),
            _yes(g.same_passage),
            _yes(g.consistent),
        ]
        for g in evaluation.paraphrase()
    ]
    return header, rows


def _yes(flag: bool) -> str:
    return "yes" if flag else "NO"


def cited(result: CaseResult) -> str:
    return ", ".join(f"[{c.n}] {c.doc_id}" for c in result.run.citations) or "–"


def failure_rows(evaluation: Evaluation) -> tuple[list[str], list[list[str]]]:
    header = ["id", "question", "what went wrong", "cited", "refused"]
    rows = [
        [
            r.case.id,
            r.case.question,
            "; ".join(r.checks.problems),
            cited(r),
            "yes" if r.run.refused else "no",
        ]
        for r in evaluation.failures()
    ]
    return header, rows


def threshold_header() -> list[str]:
    return ["scope", "metric", "limit", "value", ""]


# -- terminal --------------------------------------------------------------------------------------------------


def _text(value: str, *, one_line: bool = False) -> Text:
    """A table cell, header or title: shown as it is, never read as rich markup."""
    return Text(safe_text(value, one_line=one_line))


def _table(
    title: str, header: Sequence[str], rows: Sequence[Sequence[str]], wrap_first: bool = False
) -> Table:
    table = Table(title=_text(title, one_line=True), title_justify="left", show_lines=False)
    for i, name in enumerate(header):
        if i == 0:
            table.add_column(_text(name, one_line=True), justify="left", no_wrap=not wrap_first)
        else:
            table.add_column(_text(name, one_line=True), justify="right", overflow="fold")
    for row in rows:
        table.add_row(*(_text(cell) for cell in row))
    return table


def metrics_table(cols: Sequence[Column], k: int, title: str = "Metrics") -> Table:
    return _table(title, ["metric", *(name for name, _ in cols)], metric_rows(cols, k), wrap_first=True)


def comparison_tables(main: Evaluation, baseline: Evaluation) -> list[Table]:
    """One narrow table per scope (overall, then each file): the service and the baseline side by side."""
    base = dict(columns(baseline))
    return [
        metrics_table(
            [(main.name, metrics), (baseline.name, base[scope])],
            main.k,
            f"{scope}: {main.name} vs {baseline.name}",
        )
        for scope, metrics in columns(main)
        if scope in base
    ]


def tags_table(evaluation: Evaluation) -> Table:
    header, rows = tag_rows(evaluation)
    return _table("Per tag", header, rows)


def roles_table(evaluation: Evaluation) -> Table:
    return metrics_table(role_columns(evaluation), evaluation.k, "Per role (tests/prompts/manifest.yaml)")


def languages_table(evaluation: Evaluation) -> Table:
    header, rows = language_rows(evaluation)
    return _table("Per language of the question", header, rows)


def paraphrase_table(evaluation: Evaluation) -> Table:
    header, rows = paraphrase_rows(evaluation)
    consistency = format_metric("paraphrase_consistency", evaluation.overall().paraphrase_consistency)
    return _table(f"Paraphrase groups (consistency {consistency})", header, rows, wrap_first=True)


def failures_table(evaluation: Evaluation, limit: int | None = None) -> Table:
    _, rows = failure_rows(evaluation)
    title = f"Failing cases ({len(rows)})"
    if limit is not None and len(rows) > limit:
        title += f", the first {limit} (--json, --html or --markdown list them all)"
        rows = rows[:limit]
    table = Table(title=_text(title, one_line=True), title_justify="left", show_lines=True)
    table.add_column("id", no_wrap=True)
    table.add_column("question", ratio=3)
    table.add_column("what went wrong", ratio=3)
    table.add_column("cited", ratio=2, overflow="fold")
    table.add_column("refused", no_wrap=True)
    for row in rows:
        table.add_row(*(_text(cell) for cell in row))
    return table


def threshold_rows(results: Sequence[ThresholdResult]) -> list[list[str]]:
    return [
        [
            r.threshold.scope,
            r.threshold.metric,
            ("≥ " if r.threshold.kind == "min" else "≤ ") + f"{r.threshold.limit:g}",
            format_metric(r.threshold.metric, r.value),
            "ok" if r.ok else "FAIL",
        ]
        for r in results
    ]


def thresholds_table(results: Sequence[ThresholdResult]) -> Table | Text:
    """The limits that were missed (all of them when `results` is short); the reports list every limit."""
    missed = [r for r in results if not r.ok]
    shown = results if len(results) <= 12 else missed
    scopes = ", ".join(dict.fromkeys(r.threshold.scope for r in results))
    title = f"Limits ({scopes}): {len(results) - len(missed)} of {len(results)} met"
    if not shown:
        return _text(title, one_line=True)
    table = _table(title, threshold_header(), threshold_rows(shown))
    table.columns[1].justify = "left"
    return table


def _sections(evaluation: Evaluation) -> list[tuple[str, tuple[list[str], list[list[str]]]]]:
    consistency = format_metric("paraphrase_consistency", evaluation.overall().paraphrase_consistency)
    return [
        ("Per language of the question", language_rows(evaluation)),
        ("Per tag", tag_rows(evaluation)),
        (f"Paraphrase groups (consistency {consistency})", paraphrase_rows(evaluation)),
    ]


# -- Markdown --------------------------------------------------------------------------------------------------


def _md_cell(text: str) -> str:
    return safe_text(text, one_line=True).replace("|", "\\|")


def _md_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    lines = [
        "| " + " | ".join(_md_cell(h) for h in header) + " |",
        "|" + "|".join("---" for _ in header) + "|",
    ]
    lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in rows]
    return "\n".join(lines)


def render_markdown(
    evaluation: Evaluation,
    baseline: Evaluation | None = None,
    thresholds: Sequence[ThresholdResult] = (),
) -> str:
    k = evaluation.k
    parts = [f"# kilde eval: {evaluation.overall().cases} cases, k={k}", ""]
    cols = columns(evaluation)
    parts += [_md_table(["metric", *(n for n, _ in cols)], metric_rows(cols, k)), ""]
    roles = role_columns(evaluation)
    if roles:
        parts += ["## Per role", "", _md_table(["metric", *(n for n, _ in roles)], metric_rows(roles, k)), ""]
    if baseline is not None:
        pairs = comparison_columns(evaluation, baseline)
        parts += [
            "## Compared with the baseline",
            "",
            _md_table(["metric", *(n for n, _ in pairs)], metric_rows(pairs, k)),
            "",
        ]
    if thresholds:
        parts += [
            "## Limits",
            "",
            _md_table(threshold_header(), threshold_rows(thresholds)),
            "",
        ]
    for title, (header, rows) in _sections(evaluation):
        if rows:
            parts += [f"## {title}", "", _md_table(header, rows), ""]
    header, rows = failure_rows(evaluation)
    parts += [f"## Failing cases ({len(rows)})", ""]
    parts += [_md_table(header, rows) if rows else "None.", ""]
    return "\n".join(parts)


# -- HTML ------------------------------------------------------------------------------------------------------

def _html(value: str) -> str:
    return escape(safe_text(value))


_CSS = """
body { font: 15px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 70rem; padding: 0 1rem; color: #222; }
h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
table { border-collapse: collapse; margin: .5rem 0 1rem; }
th, td { border: 1px solid #ccc; padding: .25rem .5rem; text-align: right; vertical-align: top; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.case { border: 1px solid #ddd; border-left: 6px solid #2a8a3e; border-radius: 4px; padding: .5rem 1rem; margin: 1rem 0; }
.case.fail { border-left-color: #c0392b; }
.badge { display: inline-block; font-weight: 600; padding: 0 .4rem; border-radius: 3px; color: #fff; background: #2a8a3e; }
.fail .badge { background: #c0392b; }
.meta { color: #666; font-size: .9em; }
.answer { white-space: pre-wrap; background: #fafafa; padding: .5rem; border-radius: 3px; }
blockquote { margin: .25rem 0 .25rem 1rem; color: #444; white-space: pre-wrap; }
.bad { color: #c0392b; font-weight: 600; }
ul.problems { color: #c0392b; }
details { margin: .25rem 0; }
"""


def _html_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{_html(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{_html(c)}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _html_case(result: CaseResult, expected_docs: set[str]) -> str:
    run, checks = result.run, result.checks
    status = "pass" if checks.passed else "fail"
    parts = [
        f'<section class="case {status}" id="case-{_html(run.case.id)}">',
        f'<p><span class="badge">{status.upper()}</span> <strong>{_html(run.case.id)}</strong> '
        f'<span class="meta">{_html(run.case.file)}'
        + (f" · {_html(', '.join(run.case.tags))}" if run.case.tags else "")
        + (f" · {_html(run.language)}" if run.language else "")
        + f" · {run.latency_ms:,.0f} ms"
        + (" · refused" if run.refused else "")
        + ("" if run.case.answerable else " · unanswerable")
        + "</span></p>",
    ]
    for turn in run.history:
        parts.append(f'<p class="meta">earlier in the chat: {_html(turn.question)}</p>')
    parts.append(f"<p><strong>Q:</strong> {_html(run.case.question)}</p>")
    parts.append(f'<div class="answer">{_html(run.answer or run.error or "")}</div>')
    if checks.problems:
        parts.append(
            '<ul class="problems">' + "".join(f"<li>{_html(p)}</li>" for p in checks.problems) + "</ul>"
        )
    parts.append(
        f'<p class="meta">expected sources: {_html(", ".join(run.case.expected_sources) or "none")}</p>'
    )
    if run.citations:
        items = []
        for c in run.citations:
            flags = []
            if c.doc_id not in expected_docs:
                flags.append("not an expected source")
            if c.n in checks.unfaithful:
                flags.append("quote not found in the chunk")
            flag = f' <span class="bad">({_html("; ".join(flags))})</span>' if flags else ""
            items.append(
                f'<li>[{c.n}] {_html(c.title)} <span class="meta">{_html(c.doc_id)} · {_html(c.chunk_id)}'
                f"</span>{flag}<blockquote>{_html(c.quote)}</blockquote></li>"
            )
        parts.append('<ol class="citations">' + "".join(items) + "</ol>")
    if run.retrieved:
        rows = [
            [str(i), r.doc_id, r.chunk_id, f"{r.score:.4f}"] for i, r in enumerate(run.retrieved, start=1)
        ]
        parts.append(
            "<details><summary>retrieved chunks</summary>"
            + _html_table(["rank", "doc_id", "chunk_id", "score"], rows)
            + "</details>"
        )
    parts.append("</section>")
    return "\n".join(parts)


def render_html(
    evaluation: Evaluation,
    baseline: Evaluation | None = None,
    thresholds: Sequence[ThresholdResult] = (),
) -> str:
    k = evaluation.k
    overall = evaluation.overall()
    when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    cols = columns(evaluation)
    body = [
        f"<h1>kilde eval: {overall.cases} cases, {overall.failed} failing</h1>",
        f'<p class="meta">k = {k} · {_html(when)}</p>',
        "<h2>Metrics</h2>",
        _html_table(["metric", *(n for n, _ in cols)], metric_rows(cols, k)),
    ]
    if baseline is not None:
        pairs = comparison_columns(evaluation, baseline)
        body += [
            "<h2>Compared with the baseline</h2>",
            _html_table(["metric", *(n for n, _ in pairs)], metric_rows(pairs, k)),
        ]
    if thresholds:
        body += ["<h2>Limits</h2>", _html_table(threshold_header(), threshold_rows(thresholds))]
    for title, (header, rows) in _sections(evaluation):
        if rows:
            body += [f"<h2>{_html(title)}</h2>", _html_table(header, rows)]
    body.append("<h2>Cases</h2>")
    ordered = sorted(evaluation.results, key=lambda r: r.checks.passed)
    body += [_html_case(r, set(r.case.expected_sources)) for r in ordered]
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>kilde eval</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        + "\n".join(body)
        + "\n</body>\n</html>\n"
    )
