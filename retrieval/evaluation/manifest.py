"""The prompt manifest: which prompt file may be tuned on and which only judges.

`tests/prompts/manifest.yaml` names every prompt file's role: `tuning` (fit, tune and choose on it), `held-out`
(scored, never tuned on) or `judge` (new articles and questions written before the answerer, never tuned on), and,
where it is not `corpus/`, the articles it is asked over. Two rules follow from it:

- Fitting and tuning go through `load_tuning_cases`, which refuses a held-out or judge file, and a file the
  manifest does not list that repeats one of their questions, with one line naming the file.
- Held-out and judge figures leave out the cases that repeat a tuning case (the same chat, see `chat_key`):
  a question the answerer was tuned on is not held out, whichever file it sits in.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Literal, cast

import yaml

from retrieval.errors import UsageError
from retrieval.evaluation.cases import MANIFEST_NAME, Case, load_cases

Role = Literal["tuning", "held-out", "judge"]
ROLES: tuple[Role, ...] = ("tuning", "held-out", "judge")
PROTECTED: tuple[Role, ...] = ("held-out", "judge")  # never fitted, tuned or chosen on
# The repository's manifest; absent from an installed wheel, where `kilde eval` then reports no roles.
DEFAULT_MANIFEST = Path(__file__).resolve().parents[2] / "tests" / "prompts" / MANIFEST_NAME
ENTRY_KEYS = ("role", "corpus", "label", "note")
_PUNCTUATION = re.compile(r"[^\w\s]")


@dataclass(frozen=True)
class Entry:
    path: Path  # resolved
    role: Role
    corpus: Path | None = None  # resolved; None: the project's corpus/
    label: str | None = None  # the name `kilde eval` reports the file under; None: the file's stem
    note: str = ""


@dataclass(frozen=True)
class Manifest:
    source: Path
    root: Path  # the paths in the manifest are relative to this directory
    entries: tuple[Entry, ...]

    def entry(self, path: Path | str) -> Entry | None:
        resolved = Path(path).resolve()
        return next((e for e in self.entries if e.path == resolved), None)

    def role(self, path: Path | str) -> Role | None:
        found = self.entry(path)
        return None if found is None else found.role

    def files(self, *roles: Role) -> list[Path]:
        return [e.path for e in self.entries if e.role in roles]

    def labels(self, *roles: Role) -> set[str]:
        """The names files of these roles (all roles when none given) are reported and given floors under."""
        return {e.label or e.path.stem for e in self.entries if not roles or e.role in roles}


def load_manifest(path: Path = DEFAULT_MANIFEST) -> Manifest:
    """The manifest at `path`; one `UsageError` naming the file for a problem."""
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise UsageError(
            f"{path}: cannot read the prompt manifest: {exc.strerror or type(exc).__name__}"
        ) from None
    except (UnicodeDecodeError, yaml.YAMLError):
        raise UsageError(f"{path}: the prompt manifest is not valid YAML") from None
    if not isinstance(data, dict) or not isinstance(data.get("files"), dict) or not data["files"]:
        raise UsageError(f"{path}: expected 'root' and 'files' (a mapping of prompt file to its role)")
    extra = sorted(str(k) for k in data if k not in ("root", "files"))
    if extra:
        raise UsageError(f"{path}: unknown top-level key {extra[0]!r} (allowed: root, files)")
    root_text = data.get("root", ".")
    if not isinstance(root_text, str):
        raise UsageError(f"{path}: 'root' must be a directory relative to the manifest, e.g. ../..")
    root = (path.parent / root_text).resolve()
    entries = [_entry(path, root, name, value) for name, value in data["files"].items()]
    seen: dict[Path, str] = {}
    for entry, name in zip(entries, data["files"], strict=True):
        if entry.path in seen:
            raise UsageError(f"{path}: {name}: the same file as {seen[entry.path]}")
        seen[entry.path] = str(name)
    return Manifest(path, root, tuple(entries))


def _entry(source: Path, root: Path, name: object, value: object) -> Entry:
    where = f"{source}: {name}"
    if not isinstance(name, str) or not name.strip():
        raise UsageError(f"{where}: a file must be a path relative to the root")
    if not isinstance(value, dict):
        raise UsageError(f"{where}: expected a mapping such as {{role: tuning}}")
    unknown = sorted(str(k) for k in value if k not in ENTRY_KEYS)
    if unknown:
        raise UsageError(f"{where}: unknown key {unknown[0]!r} (allowed: {', '.join(ENTRY_KEYS)})")
    role = value.get("role")
    if role not in ROLES:
        raise UsageError(f"{where}: role must be one of {', '.join(ROLES)}, not {role!r}")
    for key in ("corpus", "label", "note"):
        if key in value and (not isinstance(value[key], str) or not value[key].strip()):
            raise UsageError(f"{where}: {key} must be a non-empty string")
    corpus = value.get("corpus")
    return Entry(
        path=(root / name).resolve(),
        role=cast(Role, role),
        corpus=None if corpus is None else (root / corpus).resolve(),
        label=value.get("label"),
        note=value.get("note", ""),
    )


# -- the same question in two files ----------------------------------------------------------------------------


def normalise(text: str) -> str:
    """A question's text for comparison: Unicode-normalised, casefolded, punctuation and runs of spaces dropped."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(_PUNCTUATION.sub(" ", folded).split())


def chat_key(case: Case) -> tuple[str, ...]:
    """What makes two cases the same question: the whole chat (earlier questions, then the question)."""
    return tuple(normalise(q) for q in (*case.history, case.question))


def _existing(paths: Iterable[Path]) -> list[Path]:
    # Files outside the repository (the shared SQuAD sets) may be absent on this machine: nothing to compare.
    return [p for p in paths if p.is_file()]


def tuning_chats(manifest: Manifest) -> set[tuple[str, ...]]:
    files = _existing(manifest.files("tuning"))
    return {chat_key(c) for c in load_cases(files)} if files else set()


# -- fitting and tuning: the one door ----------------------------------------------------------------------------


def check_tuning_files(paths: Iterable[Path], manifest: Manifest | None = None) -> list[Path]:
    """The files, if every one may be tuned on; one `UsageError` naming the first that may not.

    Refused: a file the manifest lists as held-out or judge, and a file it does not list that repeats a question
    of one (a copy under another name). Files listed as tuning pass."""
    manifest = manifest or load_manifest()
    files = [Path(p) for p in paths]
    protected: set[tuple[str, ...]] | None = None
    for path in files:
        role = manifest.role(path)
        if role in PROTECTED:
            raise UsageError(
                f"{path} is a {role} file ({manifest.source.name}): never fit, tune or choose on it"
            )
        if role is None:
            if protected is None:
                protected = _protected_chats(manifest)
            repeated = sum(1 for c in load_cases([path]) if chat_key(c) in protected)
            if repeated:
                raise UsageError(
                    f"{path} is not in {manifest.source.name} and repeats {repeated} held-out or judge "
                    "question(s): never fit, tune or choose on them"
                )
    return files


def load_tuning_cases(paths: Iterable[Path], manifest: Manifest | None = None) -> list[Case]:
    """The cases of files that may be tuned on (see `check_tuning_files`); what fit and tune scripts load."""
    return load_cases(check_tuning_files(paths, manifest))


def _protected_chats(manifest: Manifest) -> set[tuple[str, ...]]:
    """Questions of held-out and judge files that are not tuning questions too (paraphrase.yaml copies some)."""
    files = _existing(manifest.files(*PROTECTED))
    protected = {chat_key(c) for c in load_cases(files)} if files else set()
    return protected - tuning_chats(manifest)


# -- scoring: roles, labels, and tuning duplicates left out ----------------------------------------------------


@dataclass(frozen=True)
class Selection:
    cases: list[Case]  # with the manifest's role and label
    left_out: dict[str, list[str]]  # file label -> ids of its cases that repeat a tuning case


def select_for_scoring(cases: Sequence[Case], manifest: Manifest) -> Selection:
    """Give each case its file's role and label, and leave out held-out and judge cases repeating a tuning case."""
    labelled = _with_labels(cases, manifest)
    tuned = tuning_chats(manifest)
    kept: list[Case] = []
    left_out: dict[str, list[str]] = {}
    for case in labelled:
        if case.role in PROTECTED and chat_key(case) in tuned:
            left_out.setdefault(case.file, []).append(case.id)
        else:
            kept.append(case)
    if not kept:
        raise UsageError("every case repeats a tuning case; nothing is left to score")
    return Selection(kept, left_out)


def _with_labels(cases: Sequence[Case], manifest: Manifest) -> list[Case]:
    out = []
    for case in cases:
        entry = manifest.entry(case.path) if case.path else None
        out.append(case if entry is None else replace(case, role=entry.role, file=entry.label or case.file))
    _check_labels(out)
    return out


def _check_labels(cases: Iterable[Case]) -> None:
    paths: dict[str, str] = {}
    for case in cases:
        other = paths.setdefault(case.file, case.path)
        if other != case.path:
            raise UsageError(f"two prompt files are both labelled {case.file!r}: {other} and {case.path}")


def describe_left_out(left_out: Mapping[str, Sequence[str]]) -> list[str]:
    return [
        f"{label}: {len(ids)} case(s) left out, the same question as a tuning case ({', '.join(ids[:6])}"
        + (" …)" if len(ids) > 6 else ")")
        for label, ids in left_out.items()
    ]
