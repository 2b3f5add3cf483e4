"""General vocabulary per language, read from `lexicon/<language>.yaml`: question cues, number words, units,
months, pronouns, the words of article-fact questions and the fixed phrases of replies; and the
answerer's hand-set numbers, read from `hand_set.yaml`.

Values in text are read here too: "1,2 mio. kr.", "hver fjerde", "halvandet år", "£24m", "3. marts" all hold a
value of some kind, which is one of the ranker's features.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from retrieval.types import Language

LEXICON_DIR = Path(__file__).with_name("lexicon")
HAND_SET_FILE = Path(__file__).with_name("hand_set.yaml")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[\wæøåÆØÅ]+\.?|[%£$€]")
_YEAR = re.compile(r"^(1[5-9]|20)\d\d$")
_HOW_CHOSEN = ("convention", "measured", "judgement")


@dataclass(frozen=True)
class Lexicon:
    language: Language
    question_kinds: dict[str, str]
    number_words: dict[str, float]
    units: dict[str, frozenset[str]]
    months: tuple[str, ...]  # in calendar order
    months_capitalised: bool
    date_words: frozenset[str]
    leans_back: frozenset[str]
    refers_back: frozenset[str]
    personal_pronouns: frozenset[str]
    speech_verbs: frozenset[str]
    meta_fields: dict[str, frozenset[str]]
    article_words: frozenset[str]
    phrases: dict[str, Any]

    @property
    def question_words(self) -> frozenset[str]:
        """The words a question cue opens with ("hvornår", "how"): capitalised first in a question, never a name."""
        return frozenset(cue.split()[0] for cue in self.question_kinds)

    def kind(self, question: str) -> tuple[str, str]:
        """(kind, cue) of a lower-cased question: the cue nearest the start, then the longest; ("any", "")."""
        found = [
            (m.start(), -len(cue), kind, cue)
            for cue, kind in self.question_kinds.items()
            for m in re.finditer(rf"(?<![\w]){re.escape(cue)}(?![\w])", question)
        ]
        if not found:
            return "any", ""
        _, _, kind, cue = min(found)
        return kind, cue

    def values(self, text: str) -> dict[str, set[str]]:
        """The values a text holds, by kind (number, money, share, time, size, date, year), each as a
        normalised string ("1.500" and "1,500" -> "1500"; "hver fjerde" -> "0.25")."""
        lowered = text.lower()
        out: dict[str, set[str]] = {}
        tokens = _TOKEN.findall(lowered)
        for i, token in enumerate(tokens):
            value = _number(token)
            if value is None:
                continue
            kind = "year" if _YEAR.match(token) else "number"
            nxt = tokens[i + 1] if i + 1 < len(tokens) else ""
            pair = " ".join(tokens[i + 1 : i + 3])  # "per cent"
            prev = tokens[i - 1] if i else ""
            for unit_kind, units in self.units.items():
                if {nxt, nxt.rstrip("."), pair, prev} & units:
                    kind = unit_kind
            if nxt.rstrip(".") in self.months or prev in self.months:
                kind = "date"
            out.setdefault(kind, set()).add(value)
            out.setdefault("number", set()).add(value)
        for phrase in _number_phrases(self.language).findall(lowered):
            out.setdefault("number", set()).add(_format(self.number_words[phrase]))
        # English writes months capitalised, so "may" the verb is no date; Danish writes them in lower case
        source = text if self.months_capitalised else lowered
        if any(
            (w.lower() in self.months and (w[0].isupper() or not self.months_capitalised)) or w in self.date_words
            for w in re.findall(r"[\wæøåÆØÅ]+", source)
        ):
            out.setdefault("date", set()).add("month")
        return out

    def phrase(self, key: str) -> Any:
        return self.phrases[key]


@functools.cache
def _number_phrases(language: Language) -> re.Pattern[str]:
    longest_first = sorted(lexicon(language).number_words, key=len, reverse=True)
    return re.compile(r"(?<![\w])(" + "|".join(map(re.escape, longest_first)) + r")(?![\w])")


def _number(token: str) -> str | None:
    if not token[:1].isdigit():
        return None
    digits = token.rstrip(".")
    if re.fullmatch(r"\d{1,3}(?:[.,]\d{3})+", digits):  # thousands separators: "1.500", "1,500"
        return str(int(re.sub(r"[.,]", "", digits)))
    try:
        return _format(float(digits.replace(",", ".")))
    except ValueError:
        return None


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def _read_yaml(path: Path) -> Any:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml: the same data, 7 times as fast
    return yaml.load(path.read_text(encoding="utf-8"), Loader=loader)  # noqa: S506 (a safe loader, C or Python)


def read_hand_set(path: Path = HAND_SET_FILE) -> dict[str, dict[str, Any]]:
    """The values of a hand-set numbers file, by section and name; each entry must say what it is, how it was
    chosen and why."""
    sections: dict[str, dict[str, Any]] = {}
    for section, entries in _read_yaml(path).items():
        for name, entry in entries.items():
            value = entry.get("value")
            if type(value) not in (int, float) or entry.get("how") not in _HOW_CHOSEN:
                raise ValueError(f"{path}: {name} needs a number and how it was chosen")
            if not (entry.get("what") and entry.get("why")):
                raise ValueError(f"{path}: {name} needs what it is and why")
            sections.setdefault(section, {})[name] = value
    return sections


# By name across sections (the names are unique).
HAND_SET: dict[str, Any] = {name: v for values in read_hand_set().values() for name, v in values.items()}


@functools.cache
def lexicon(language: Language) -> Lexicon:
    data = _read_yaml(LEXICON_DIR / f"{language}.yaml")

    def words(key: str) -> frozenset[str]:
        return frozenset(str(w).lower() for w in data[key])

    return Lexicon(
        language=language,
        question_kinds={str(k): str(v) for k, v in data["question_kinds"].items()},
        number_words={str(k): float(v) for k, v in data["number_words"].items()},
        units={k: frozenset(str(u).lower() for u in v) for k, v in data["units"].items()},
        months=tuple(str(m).lower() for m in data["months"]),
        months_capitalised=bool(data.get("months_capitalised", False)),
        date_words=words("date_words"),
        leans_back=words("leans_back"),
        refers_back=words("refers_back"),
        personal_pronouns=words("personal_pronouns"),
        speech_verbs=words("speech_verbs"),
        meta_fields={k: frozenset(v) for k, v in data["meta_fields"].items()},
        article_words=words("article_words"),
        phrases={k: data[k] for k in ("refusal", "frame", "language_names", "meta_phrases", "and")},
    )

