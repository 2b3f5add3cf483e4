"""Scoring an answer service on test prompts: load and validate prompt files, run the cases, compute metrics.

A prompt file is YAML with one key, `cases`, a list of mappings with the keys in `CASE_KEYS`. Loading checks
every field and raises one `UsageError` naming the file, the case and the field before any question is asked.
`evaluate` runs the cases through any `EvalService` (the real service or the baseline) exactly like a chat:
earlier questions of a case are asked first and their answers passed on as history. Every metric is a small
pure function over plain values, so it can be checked by hand; `summarize` pools them over a set of cases.

An answerable case passes only when every must_include group is in the passages the answer cites (and in its
text), so an answer cannot pass by pasting facts it does not source. Cases that share a tag `group-<id>` ask the
same thing in other words; `paraphrase_groups` checks that they get the same verdict and cite the same passage.
Limits (floors and ceilings) live in `retrieval.evaluation.limits`; rendering in `retrieval.evaluation.reports`.
"""

from __future__ import annotations

import math
import random
import re
import statistics
import time
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from difflib import SequenceMatcher
from pathlib import Path
from typing import Any, Literal, NoReturn, Protocol

import yaml

from retrieval.conversation import Conversation
from retrieval.errors import KildeError, UsageError
from retrieval.types import Answer, Citation, DocumentInfo, Retrieved, Turn

CASE_KEYS = ("id", "question", "history", "expected_sources", "must_include", "answerable", "tags")
PROMPT_SUFFIXES = (".yaml", ".yml")
DEFAULT_K = 5
_MARKER = re.compile(r"\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\]")
GROUP_PREFIX = "group-"  # cases tagged group-<id> are paraphrases of one question
QUOTE_OVERLAP_CHARS = 40  # two quotes share a passage when one holds the other or they share this many chars


class EvalService(Protocol):
    """What evaluation needs: answers, the known documents, and the full text of a cited chunk."""

    def answer(
        self, question: str, history: list[Turn] | None = None, on_token: Callable[[str], None] | None = None
    ) -> Answer: ...

    def documents(self) -> list[DocumentInfo]: ...

    def chunk_text(self, chunk_id: str) -> str | None: ...


# -- test prompts ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    id: str
    question: str
    file: str  # label of the prompt file (its stem), used for per-file metrics
    expected_sources: tuple[str, ...] = ()
    must_include: tuple[tuple[str, ...], ...] = ()
    history: tuple[str, ...] = ()
    answerable: bool = True
    tags: tuple[str, ...] = ()
    path: str = ""  # the prompt file, for error messages


def prompt_files(paths: Iterable[Path]) -> list[Path]:
    """The prompt files named, a directory standing for its *.yaml / *.yml files (sorted, not recursive)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in PROMPT_SUFFIXES)
            if not inside:
                raise UsageError(f"{path}: no prompt files (*.yaml) in this directory")
            found.extend(inside)
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"{path}: no such prompt file")
    return list(dict.fromkeys(found))


def load_cases(paths: Iterable[Path], known_ids: Collection[str] | None = None) -> list[Case]:
    """Every case in the prompt files (or directories) given; one `UsageError` for the first problem found.

    With `known_ids`, every expected source must be one of them (see `check_sources`)."""
    files = prompt_files(paths)
    if not files:
        raise UsageError("no prompt files given")
    labels = _labels(files)
    cases: list[Case] = []
    seen: dict[str, str] = {}
    for path in files:
        for case in _load_file(path, labels[path]):
            if case.id in seen:
                _fail(path, f"case {case.id!r}", "id", f"duplicate id (also in {seen[case.id]})")
            seen[case.id] = str(path)
            cases.append(case)
    if known_ids is not None:
        check_sources(cases, known_ids)
    return cases


def check_sources(cases: Iterable[Case], known_ids: Collection[str]) -> None:
    """Every expected source must be a document of the corpus (a file stem)."""
    known = set(known_ids)
    for case in cases:
        for doc_id in case.expected_sources:
            if doc_id not in known:
                hint = ", ".join(sorted(known)[:8]) + (" …" if len(known) > 8 else "")
                _fail(
                    case.path,
                    f"case {case.id!r}",
                    "expected_sources",
                    f"unknown document id {doc_id!r} (the corpus has: {hint or 'no documents'})",
                )


def sample_cases(cases: Sequence[Case], n: int, seed: int = 0) -> list[Case]:
    """`n` cases drawn at random (the same ones for the same seed), kept in their file order."""
    if n >= len(cases):
        return list(cases)
    chosen = sorted(random.Random(seed).sample(range(len(cases)), n))  # noqa: S311 (not for secrets)
    return [cases[i] for i in chosen]


def _labels(files: Sequence[Path]) -> dict[Path, str]:
    stems = [p.stem for p in files]
    return {p: p.stem if stems.count(p.stem) == 1 else str(p) for p in files}


def _fail(path: Path | str, where: str, field_name: str, message: str) -> NoReturn:
    raise UsageError(f"{path}: {where}: field {field_name!r}: {message}")


def _load_file(path: Path, label: str) -> list[Case]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or type(exc).__name__}") from None
    except UnicodeDecodeError:
        raise UsageError(f"{path}: not UTF-8 text") from None
    except RecursionError:
        raise UsageError(f"{path}: nested too deeply to read") from None
    except (ValueError, TypeError, OverflowError):  # a tag the value does not fit: `!!int 0.5`
        raise UsageError(f"{path}: not valid YAML (a value does not fit its tag)") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise UsageError(f"{path}: not valid YAML{where}") from None
    if not isinstance(data, dict) or "cases" not in data:
        raise UsageError(f"{path}: expected a mapping with the key 'cases' (a list of cases)")
    extra = sorted(str(k) for k in data if k != "cases")
    if extra:
        raise UsageError(f"{path}: unknown top-level key {extra[0]!r} (only 'cases' is allowed)")
    items = data["cases"]
    if not isinstance(items, list) or not items:
        raise UsageError(f"{path}: 'cases' must be a non-empty list of cases")
    return [_parse_case(path, label, i, item) for i, item in enumerate(items, start=1)]


def _parse_case(path: Path, label: str, index: int, item: object) -> Case:
    where = f"case #{index}"
    if not isinstance(item, dict):
        raise UsageError(f"{path}: {where}: must be a mapping of fields, not {_kind(item)}")
    raw_id = item.get("id")
    if raw_id is None:
        _fail(path, where, "id", "missing (every case needs a unique id)")
    if not isinstance(raw_id, str) or not raw_id.strip():
        _fail(path, where, "id", f"must be a non-empty string, not {_kind(raw_id)} (quote it)")
    case_id = raw_id.strip()
    where = f"case {case_id!r}"
    unknown = sorted(str(k) for k in item if k not in CASE_KEYS)
    if unknown:
        _fail(path, where, unknown[0], f"unknown key (allowed: {', '.join(CASE_KEYS)})")
    if "question" not in item:
        _fail(path, where, "question", "missing")
    question = _text(path, where, "question", item["question"])
    expected = _strings(path, where, "expected_sources", item.get("expected_sources", []))
    answerable = item.get("answerable", True)
    if not isinstance(answerable, bool):
        _fail(path, where, "answerable", f"must be true or false, not {_kind(answerable)}")
    if answerable and not expected:
        _fail(path, where, "expected_sources", "an answerable case needs at least one expected source")
    if not answerable and expected:
        _fail(path, where, "expected_sources", "must be [] when answerable is false")
    if len(set(expected)) != len(expected):
        _fail(path, where, "expected_sources", "lists the same document twice")
    return Case(
        id=case_id,
        question=question,
        file=label,
        expected_sources=tuple(expected),
        must_include=_groups(path, where, item.get("must_include", [])),
        history=tuple(_strings(path, where, "history", item.get("history", []))),
        answerable=answerable,
        tags=tuple(dict.fromkeys(_strings(path, where, "tags", item.get("tags", [])))),
        path=str(path),
    )


def _kind(value: object) -> str:
    if value is None:
        return "null"
    return {bool: "a boolean", int: "a number", float: "a number", str: "a string", list: "a list"}.get(
        type(value), "a mapping" if isinstance(value, dict) else type(value).__name__
    )


def _text(path: Path, where: str, name: str, value: object) -> str:
    if not isinstance(value, str) or not value.strip():
        _fail(path, where, name, f"must be a non-empty string, not {_kind(value)}")
    return value.strip()


def _strings(path: Path, where: str, name: str, value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list):
        _fail(path, where, name, f"must be a list of strings, not {_kind(value)}")
    out = []
    for i, item in enumerate(value, start=1):
        if not isinstance(item, str) or not item.strip():
            _fail(path, where, name, f"item {i} must be a non-empty string, not {_kind(item)}")
        out.append(item.strip())
    return out


def _groups(path: Path, where: str, value: object) -> tuple[tuple[str, ...], ...]:
    shape = 'a list of lists of strings, e.g. [["Pia Lund Jeppesen"], ["HK", "HK Kommunal"]]'
    if value is None:
        return ()
    if not isinstance(value, list):
        _fail(path, where, "must_include", f"must be {shape}, not {_kind(value)}")
    groups = []
    for i, group in enumerate(value, start=1):
        if not isinstance(group, list) or not group:
            _fail(path, where, "must_include", f"group {i} must be a non-empty list; the field is {shape}")
        for needle in group:
            if not isinstance(needle, str) or not needle.strip():
                _fail(path, where, "must_include", f"group {i} holds {_kind(needle)}, not a non-empty string")
        groups.append(tuple(group))
    return tuple(groups)


# -- metrics: pure functions over plain values -----------------------------------------------------------------


def first_hit_rank(doc_ids: Sequence[str], expected: Collection[str]) -> int | None:
    """1-based rank of the first retrieved chunk whose document is expected; None when there is none."""
    for rank, doc_id in enumerate(doc_ids, start=1):
        if doc_id in expected:
            return rank
    return None


def hit_at_k(rank: int | None, k: int) -> bool:
    return rank is not None and rank <= k


def reciprocal_rank(rank: int | None) -> float:
    return 0.0 if rank is None else 1.0 / rank


def recall_at_k(doc_ids: Sequence[str], expected: Collection[str], k: int) -> float:
    """Share of the expected documents that own at least one of the top-k retrieved chunks."""
    if not expected:
        return 0.0
    top = set(doc_ids[:k])
    return sum(1 for doc_id in set(expected) if doc_id in top) / len(set(expected))


def quote_is_faithful(quote: str, chunk_text: str | None) -> bool:
    """The quote occurs verbatim in the chunk it cites (surrounding whitespace aside)."""
    quote = quote.strip()
    return bool(quote) and chunk_text is not None and quote in chunk_text


def missing_groups(text: str, groups: Iterable[Sequence[str]]) -> list[tuple[str, ...]]:
    """The must_include groups with no alternative in `text` (case-insensitive, runs of spaces as one)."""
    haystack = " " + " ".join(text.split()).casefold() + " "
    return [tuple(group) for group in groups if not any(n.casefold() in haystack for n in group)]


def cited_text(quotes: Iterable[str]) -> str:
    """The passages an answer cites, as one text for `missing_groups` (a fact cannot span two quotes)."""
    return " … ".join(q.strip() for q in quotes)


def quotes_overlap(first: str, second: str, min_chars: int = QUOTE_OVERLAP_CHARS) -> bool:
    """Two quotes show the same passage: one holds the other, or they share a run of `min_chars` characters
    (case and runs of spaces aside)."""
    a, b = (" ".join(q.split()).casefold() for q in (first, second))
    if not a or not b:
        return False
    if a in b or b in a:
        return True
    match = SequenceMatcher(None, a, b, autojunk=False).find_longest_match(0, len(a), 0, len(b))
    return match.size >= min_chars


def word_count(text: str) -> int:
    """Words of an answer: tokens with a letter or digit, the [n] markers left out."""
    return sum(1 for token in _MARKER.sub(" ", text).split() if any(ch.isalnum() for ch in token))


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linearly interpolated between the closest ranks (numpy's default)."""
    if not values:
        raise ValueError("percentile of no values")
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low, high = math.floor(position), math.ceil(position)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def share(flags: Iterable[bool]) -> float | None:
    """Fraction of true values; None when there are none to count."""
    values = list(flags)
    return sum(values) / len(values) if values else None


def mean(values: Iterable[float]) -> float | None:
    got = list(values)
    return sum(got) / len(got) if got else None


# -- running the cases -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CaseRun:
    """What the service did for one case (the final question; history questions are only context)."""

    case: Case
    answer: str
    refused: bool
    citations: tuple[Citation, ...]
    retrieved: tuple[Retrieved, ...]
    latency_ms: float
    history: tuple[Turn, ...] = ()
    error: str | None = None
    language: str | None = None  # the language the service detected in the question ("da", "en")


@dataclass(frozen=True)
class Checks:
    hit_rank: int | None  # None: no expected document retrieved, or an unanswerable case
    hit_at_k: bool | None  # None for unanswerable cases (retrieval metrics count answerable ones only)
    reciprocal_rank: float | None
    recall_at_k: float | None
    cited_expected: int  # citations of an expected document
    cited_unexpected: tuple[str, ...]  # doc ids of the other citations, in citation order
    unfaithful: tuple[int, ...]  # numbers n of citations whose quote is not in the cited chunk
    missing: tuple[tuple[str, ...], ...]  # must_include groups not found in the answer text
    missing_cited: tuple[tuple[str, ...], ...]  # must_include groups not found in the cited passages
    answer_pass: bool | None  # every fact in the text and a cited passage, not refused; None if unanswerable
    text_pass: bool | None  # the looser check: every fact somewhere in the answer text, not refused
    refusal_correct: bool
    words: int
    problems: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed,
            "hit_rank": self.hit_rank,
            "hit_at_k": self.hit_at_k,
            "reciprocal_rank": _round(self.reciprocal_rank),
            "recall_at_k": _round(self.recall_at_k),
            "cited_expected": self.cited_expected,
            "cited_unexpected": list(self.cited_unexpected),
            "unfaithful_citations": list(self.unfaithful),
            "missing": [list(g) for g in self.missing],
            "missing_cited": [list(g) for g in self.missing_cited],
            "answer_pass": self.answer_pass,
            "text_pass": self.text_pass,
            "refusal_correct": self.refusal_correct,
            "words": self.words,
            "problems": list(self.problems),
        }


@dataclass(frozen=True)
class CaseResult:
    run: CaseRun
    checks: Checks

    @property
    def case(self) -> Case:
        return self.run.case

    @property
    def correct(self) -> bool:
        """What the overall score counts: an answerable case passed, or an unanswerable one refused."""
        return bool(self.checks.answer_pass) if self.case.answerable else self.checks.refusal_correct

    def to_dict(self) -> dict[str, Any]:
        run = self.run
        return {
            "id": run.case.id,
            "file": run.case.file,
            "tags": list(run.case.tags),
            "question": run.case.question,
            "history": [t.question for t in run.history],
            "answer": run.answer,
            "refused": run.refused,
            "language": run.language,
            "citations": [
                {"n": c.n, "doc_id": c.doc_id, "chunk_id": c.chunk_id, "quote": c.quote}
                for c in run.citations
            ],
            "retrieved": [r.to_dict() for r in run.retrieved],
            "latency_ms": round(run.latency_ms, 2),
            "error": run.error,
            "checks": self.checks.to_dict(),
        }


def run_case(service: EvalService, case: Case) -> CaseRun:
    """Ask the history questions, then the case question, in one chat; time the case question only."""
    chat = Conversation(service, max_turns=None)  # the service trims; the report shows the whole chat
    try:
        for question in case.history:
            chat.ask(question)
        history = tuple(chat.turns)
        started = time.perf_counter()
        answer = chat.ask(case.question)
        latency = (time.perf_counter() - started) * 1000
    except KildeError as exc:
        return CaseRun(case, "", False, (), (), 0.0, tuple(chat.turns), error=str(exc) or type(exc).__name__)
    return CaseRun(
        case=case,
        answer=answer.text,
        refused=answer.refused,
        citations=tuple(answer.citations),
        retrieved=tuple(answer.retrieved),
        latency_ms=latency,
        history=history,
        language=answer.language,
    )


def check_case(run: CaseRun, k: int, chunk_text: Callable[[str], str | None]) -> Checks:
    case = run.case
    expected = set(case.expected_sources)
    doc_ids = [r.doc_id for r in run.retrieved]
    rank = first_hit_rank(doc_ids, expected) if case.answerable else None
    hit = hit_at_k(rank, k) if case.answerable else None
    unfaithful = tuple(c.n for c in run.citations if not quote_is_faithful(c.quote, chunk_text(c.chunk_id)))
    missing = tuple(missing_groups(run.answer, case.must_include)) if case.answerable else ()
    quotes = cited_text(c.quote for c in run.citations)
    missing_cited = tuple(missing_groups(quotes, case.must_include)) if case.answerable else ()
    answered = not run.refused and run.error is None
    refused_ok = run.refused and not run.citations and run.error is None
    refusal_ok = answered if case.answerable else refused_ok
    text_pass = (answered and not missing) if case.answerable else None
    answer_pass = (answered and not missing and not missing_cited) if case.answerable else None
    checks = Checks(
        hit_rank=rank,
        hit_at_k=hit,
        reciprocal_rank=reciprocal_rank(rank) if case.answerable else None,
        recall_at_k=recall_at_k(doc_ids, expected, k) if case.answerable else None,
        cited_expected=sum(1 for c in run.citations if c.doc_id in expected),
        cited_unexpected=tuple(c.doc_id for c in run.citations if c.doc_id not in expected),
        unfaithful=unfaithful,
        missing=missing,
        missing_cited=missing_cited,
        answer_pass=answer_pass,
        text_pass=text_pass,
        refusal_correct=refusal_ok,
        words=word_count(run.answer),
    )
    return replace(checks, problems=tuple(_problems(run, checks, k)))


def _problems(run: CaseRun, checks: Checks, k: int) -> list[str]:
    problems = []
    if run.error is not None:
        problems.append(f"error: {run.error}")
    if run.case.answerable:
        if run.refused:
            problems.append("refused an answerable question")
        for group in checks.missing:
            problems.append("missing " + " | ".join(repr(n) for n in group))
        if not run.refused:
            for group in checks.missing_cited:
                if group not in checks.missing:
                    problems.append("not in a cited passage: " + " | ".join(repr(n) for n in group))
        if checks.hit_at_k is False:
            problems.append(f"no expected source in the top {k}")
    elif not run.refused and run.error is None:
        problems.append("answered an unanswerable question")
    elif run.citations:
        problems.append("refused but cited sources")
    if checks.unfaithful:
        problems.append("quote not in chunk: " + ", ".join(f"[{n}]" for n in checks.unfaithful))
    return problems


# -- summaries -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Metrics:
    """Pooled metrics of a set of cases; None where no case counts towards a metric."""

    cases: int
    answerable: int
    unanswerable: int
    failed: int
    errors: int
    hit_at_k: float | None
    mrr: float | None
    recall_at_k: float | None
    citation_precision: float | None
    faithfulness: float | None
    answer_pass: float | None
    refusal_accuracy: float | None
    median_words: float | None
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    overall: float | None = None
    unanswerable_refused: float | None = None
    answerable_refused: float | None = None
    text_pass: float | None = None
    paraphrase_consistency: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return {name: _round(value) for name, value in self.__dict__.items()}


# name -> (label, kind) for every metric a floor or ceiling can be set on, in display order
METRICS: dict[str, tuple[str, Literal["rate", "words", "ms"]]] = {
    "overall": ("overall score", "rate"),
    "answer_pass": ("answer pass (facts cited)", "rate"),
    "unanswerable_refused": ("unanswerable refused", "rate"),
    "answerable_refused": ("answerable refused", "rate"),
    "refusal_accuracy": ("refusal accuracy", "rate"),
    "text_pass": ("facts in answer text", "rate"),
    "paraphrase_consistency": ("paraphrase consistency", "rate"),
    "hit_at_k": ("retrieval hit@k", "rate"),
    "mrr": ("retrieval MRR", "rate"),
    "recall_at_k": ("retrieval recall@k", "rate"),
    "citation_precision": ("citation precision", "rate"),
    "faithfulness": ("citation faithfulness", "rate"),
    "median_words": ("median answer words", "words"),
    "latency_p50_ms": ("latency p50", "ms"),
    "latency_p95_ms": ("latency p95", "ms"),
}


def summarize(results: Sequence[CaseResult]) -> Metrics:
    answerable = [r for r in results if r.case.answerable]
    unanswerable = [r for r in results if not r.case.answerable]
    groups = paraphrase_groups(results)
    cited = [c for r in answerable for c in r.run.citations]
    expected_cited = sum(r.checks.cited_expected for r in answerable)
    all_citations = sum(len(r.run.citations) for r in results)
    unfaithful = sum(len(r.checks.unfaithful) for r in results)
    words = [r.checks.words for r in answerable if not r.run.refused and r.run.error is None]
    latencies = [r.run.latency_ms for r in results if r.run.error is None]
    return Metrics(
        cases=len(results),
        answerable=len(answerable),
        unanswerable=len(results) - len(answerable),
        failed=sum(1 for r in results if not r.checks.passed),
        errors=sum(1 for r in results if r.run.error is not None),
        hit_at_k=share(bool(r.checks.hit_at_k) for r in answerable),
        mrr=mean(r.checks.reciprocal_rank or 0.0 for r in answerable),
        recall_at_k=mean(r.checks.recall_at_k or 0.0 for r in answerable),
        citation_precision=expected_cited / len(cited) if cited else None,
        faithfulness=(all_citations - unfaithful) / all_citations if all_citations else None,
        answer_pass=share(bool(r.checks.answer_pass) for r in answerable),
        refusal_accuracy=share(r.checks.refusal_correct for r in results),
        median_words=float(statistics.median(words)) if words else None,
        latency_p50_ms=percentile(latencies, 50) if latencies else None,
        latency_p95_ms=percentile(latencies, 95) if latencies else None,
        overall=share(r.correct for r in results),
        unanswerable_refused=share(r.checks.refusal_correct for r in unanswerable),
        answerable_refused=share(r.run.refused for r in answerable),
        text_pass=share(bool(r.checks.text_pass) for r in answerable),
        paraphrase_consistency=share(g.consistent for g in groups),
    )


# -- paraphrase consistency ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GroupCheck:
    """Whether the cases of one paraphrase group (tag `group-<id>`) were treated alike."""

    group: str
    case_ids: tuple[str, ...]
    answered: int  # cases answered (not refused, no error)
    correct: int  # cases the overall score counts as right
    same_verdict: bool  # all answered or all refused, and all right or all wrong
    same_passage: bool  # every two answered cases cite the same passage (see `same_passage`)

    @property
    def consistent(self) -> bool:
        return self.same_verdict and self.same_passage

    def to_dict(self) -> dict[str, Any]:
        return {
            "group": self.group,
            "cases": list(self.case_ids),
            "answered": self.answered,
            "correct": self.correct,
            "same_verdict": self.same_verdict,
            "same_passage": self.same_passage,
            "consistent": self.consistent,
        }


def same_passage(first: Sequence[Citation], second: Sequence[Citation]) -> bool:
    """Two answers cite the same passage: the same top cited chunk, or overlapping quotes."""
    if not first or not second:
        return not first and not second
    if first[0].chunk_id == second[0].chunk_id:
        return True
    return any(quotes_overlap(a.quote, b.quote) for a in first for b in second)


def _verdict(run: CaseRun) -> str:
    return "error" if run.error is not None else "refused" if run.refused else "answered"


def check_group(group: str, results: Sequence[CaseResult]) -> GroupCheck:
    answered = [r for r in results if _verdict(r.run) == "answered"]
    verdicts = {(_verdict(r.run), r.correct) for r in results}
    passages = all(
        same_passage(a.run.citations, b.run.citations)
        for i, a in enumerate(answered)
        for b in answered[i + 1 :]
    )
    return GroupCheck(
        group=group,
        case_ids=tuple(r.case.id for r in results),
        answered=len(answered),
        correct=sum(r.correct for r in results),
        same_verdict=len(verdicts) == 1,
        same_passage=passages,
    )


def paraphrase_groups(results: Sequence[CaseResult]) -> list[GroupCheck]:
    """One check per paraphrase group with at least two cases among `results`, in order of first appearance."""
    grouped = _group(results, lambda r: [t[len(GROUP_PREFIX) :] for t in r.case.tags if _is_group(t)])
    return [check_group(name, members) for name, members in grouped if len(members) >= 2]


def _is_group(tag: str) -> bool:
    return tag.startswith(GROUP_PREFIX) and len(tag) > len(GROUP_PREFIX)


@dataclass(frozen=True)
class Evaluation:
    """All case results of one service, with the k they were scored at."""

    results: list[CaseResult]
    k: int = DEFAULT_K
    name: str = "kilde"

    def overall(self) -> Metrics:
        return summarize(self.results)

    def by_file(self) -> dict[str, Metrics]:
        return {label: summarize(group) for label, group in _group(self.results, lambda r: [r.case.file])}

    def by_tag(self) -> dict[str, Metrics]:
        """Per tag; paraphrase-group tags are left out (see `paraphrase`)."""
        grouped = _group(self.results, lambda r: [t for t in r.case.tags if not _is_group(t)])
        return {tag: summarize(group) for tag, group in sorted(grouped, key=lambda item: item[0])}

    def by_language(self) -> dict[str, Metrics]:
        """Per language of the question, as the service detected it."""
        grouped = _group(self.results, lambda r: [r.run.language or "unknown"])
        return {lang: summarize(group) for lang, group in sorted(grouped, key=lambda item: item[0])}

    def paraphrase(self) -> list[GroupCheck]:
        return paraphrase_groups(self.results)

    def failures(self) -> list[CaseResult]:
        return [r for r in self.results if not r.checks.passed]

    def summary_dict(self) -> dict[str, Any]:
        return {
            "k": self.k,
            "overall": self.overall().to_dict(),
            "by_file": {name: m.to_dict() for name, m in self.by_file().items()},
            "by_tag": {name: m.to_dict() for name, m in self.by_tag().items()},
            "by_language": {name: m.to_dict() for name, m in self.by_language().items()},
            "paraphrase_groups": [g.to_dict() for g in self.paraphrase()],
        }


def _group(
    results: Sequence[CaseResult], keys: Callable[[CaseResult], list[str]]
) -> list[tuple[str, list[CaseResult]]]:
    groups: dict[str, list[CaseResult]] = {}
    for result in results:
        for key in keys(result):
            groups.setdefault(key, []).append(result)
    return list(groups.items())


def evaluate(
    service: EvalService,
    cases: Sequence[Case],
    k: int = DEFAULT_K,
    on_progress: Callable[[int, int], None] | None = None,
    name: str = "kilde",
) -> Evaluation:
    """Run every case through `service` (in order) and check the answers."""
    if k < 1:
        raise UsageError("k must be at least 1")
    texts: dict[str, str | None] = {}

    def chunk_text(chunk_id: str) -> str | None:
        if chunk_id not in texts:
            texts[chunk_id] = service.chunk_text(chunk_id)
        return texts[chunk_id]

    results = []
    for done, case in enumerate(cases, start=1):
        run = run_case(service, case)
        results.append(CaseResult(run, check_case(run, k, chunk_text)))
        if on_progress is not None:
            on_progress(done, len(cases))
    return Evaluation(results, k, name)


def _round(value: Any) -> Any:
    return round(value, 4) if isinstance(value, float) else value
