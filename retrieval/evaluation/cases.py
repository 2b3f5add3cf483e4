"""Test prompts: find, load and validate prompt files into `Case` values.

A prompt file is YAML with one key, `cases`, a list of mappings with the keys in `CASE_KEYS`. Loading checks
every field and raises one `UsageError` naming the file, the case and the field before any question is asked.
"""

from __future__ import annotations

import random
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import yaml

from retrieval.errors import UsageError

CASE_KEYS = ("id", "question", "history", "expected_sources", "must_include", "answerable", "tags")
PROMPT_SUFFIXES = (".yaml", ".yml")
MANIFEST_NAME = "manifest.yaml"  # the prompt manifest (see `manifest`) sits beside the prompt files, not one


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
    role: str = ""  # tuning, held-out or judge, from the prompt manifest ("" when it does not list the file)


def prompt_files(paths: Iterable[Path]) -> list[Path]:
    """The prompt files named, a directory standing for its *.yaml / *.yml files (sorted, not recursive; its
    prompt manifest left out)."""
    found: list[Path] = []
    for path in paths:
        if path.is_dir():
            inside = sorted(
                p
                for p in path.iterdir()
                if p.is_file() and p.suffix.lower() in PROMPT_SUFFIXES and p.name != MANIFEST_NAME
            )
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
