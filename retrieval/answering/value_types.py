"""Does a text hold a value of the kind a question asks for (a number, a date, a person, a place, ...)?

The strongest cheap signal for choosing a sentence: "hvor mange" wants a number that is not a year and not given by
the question, "hvem" a person's name, "hvornår" a date. Word lists here are general Danish and English
vocabulary (months, number words, words that mark an institution), never words of a corpus or a prompt.
"""

from __future__ import annotations

import re

from retrieval.answering.language import content_lemmas, lemma, part_match
from retrieval.answering.question import AnswerType, QuestionInfo
from retrieval.text import names_in, words

_NUMBER = re.compile(r"\b\d+(?:[.,]\d+)*\b")
YEAR = re.compile(r"^(1[89]|20)\d\d$")
_MONTHS = [
    "januar",
    "februar",
    "marts",
    "april",
    "maj",
    "juni",
    "juli",
    "august",
    "september",
    "oktober",
    "november",
    "december",
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
]
_DATE_WORDS = re.compile(r"\b(" + "|".join(_MONTHS) + r"|\d{4}|i går|i dag|i år|sidste år|forår|efterår)\b")
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[\wæøåÆØÅ-]+|[.]")
_NUMBER_WORDS = frozenset(
    [
        "to",
        "tre",
        "fire",
        "fem",
        "seks",
        "syv",
        "otte",
        "ni",
        "ti",
        "elleve",
        "tolv",
        "tyve",
        "hundrede",
        "tusind",
        "halvdelen",
        "tredjedel",
        "flertal",
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "twenty",
        "hundred",
        "thousand",
        "half",
        "majority",
        # ordinals answer "how many times / films": "his fourth performance"
        "anden",
        "tredje",
        "fjerde",
        "femte",
        "sjette",
        "syvende",
        "ottende",
        "niende",
        "tiende",
        "second",
        "third",
        "fourth",
        "fifth",
        "sixth",
        "seventh",
        "eighth",
        "ninth",
        "tenth",
    ]
)
_DURATION = re.compile(
    r"\b((\d+|et|en|to|tre|fire|fem|seks|syv|otte|ni|ti|halvandet|mange|flere|one|two|three|four|five|many|"
    r"several)\s+(år|måned\w*|uge\w*|dage?|timer?|years?|months?|weeks?|days?)|siden\s+\d{4}|since\s+\d{4})\b"
)
_MONEY = re.compile(
    r"\d[\d.,]*\s*(kr\.?|kroner|mio\.?|millioner|milliarder|mia\.?|euro|€|\$|dollars?|DKK)"
    r"|(kr\.|DKK|€|\$)\s*\d",
    re.IGNORECASE,
)
_AGE = re.compile(r"\b\d{1,3}\s*(år|years?)\s*(gammel|old)?\b|\b\d{1,3}-årig|\baged?\s+\d{1,3}\b")
_INSTITUTION_WORDS = frozenset(
    [
        "kommune",
        "kommunes",
        "kommunal",
        "region",
        "regionen",
        "universitet",
        "ministeriet",
        "ministerium",
        "udvalg",
        "center",
        "centre",
        "kontor",
        "parti",
        "partiet",
        "council",
        "municipality",
        "ministry",
        "university",
        "department",
    ]
)
_PLACE = re.compile(r"\b(?:i|in|på|at|ved)\s+([A-ZÆØÅ][\wæøå-]+)")


def has_type(info: QuestionInfo, text: str, asked: set[str]) -> float:
    """1.0 when the text holds a value of the kind asked for that the question does not already give."""
    kind: AnswerType = info.answer_type
    if kind == "any":
        return 1.0
    lowered = text.lower()
    if kind == "number":
        return 1.0 if _numbers(info, text, asked) else 0.0
    if kind == "money":
        return 1.0 if _MONEY.search(text) else 0.0
    if kind == "age":
        return 1.0 if _AGE.search(lowered) else 0.0
    if kind == "duration":
        return 1.0 if _DURATION.search(lowered) else 0.0
    if kind == "date":
        return 1.0 if any(m not in asked for m in _DATE_WORDS.findall(lowered)) else 0.0

    # "Rudersdals" gives "Rudersdal": as written, as its lemma, or in the genitive
    def given(word: str) -> bool:
        return word in asked or lemma(word, info.language) in asked or not _genitive(word).isdisjoint(asked)

    if kind == "place":
        return 1.0 if any(not given(w.lower()) for w in _PLACE.findall(text)) else 0.0
    new_names = [n for n in names_in(text) if not all(given(w) for w in words(n))]
    if kind == "person":
        people = [n for n in new_names if is_person(n)]
        role_ok = info.role is None or part_match(info.role, set(content_lemmas(text, info.language))) > 0
        if people and role_ok:
            return 1.0
        # "Hvem er Troels Lund Poulsen?" asks about the named person: a sentence about them will do.
        about_name = info.names and all(t in asked for t in info.terms)
        return 1.0 if about_name and any(given(w) for n in names_in(text) for w in words(n)) else 0.0
    return 1.0 if new_names else 0.0


def _genitive(word: str) -> set[str]:
    """How a question may write the name `word` in the genitive: Danish "Serups", English "Serup's"."""
    return {word + "s", word + "'s", word + "’s", word + "'"}


def _numbers(info: QuestionInfo, text: str, asked: set[str]) -> list[str]:
    """Numbers in the text that could answer "how many": not years, not dates, not given by the question, and
    next to the counted noun when the question names one ("hvor mange kommuner" -> "88 kommuner")."""
    tokens = _TOKEN.findall(text)
    found = []
    for i, token in enumerate(tokens):
        low = token.lower()
        # "twenty-fourth" by its last part
        is_number = bool(_NUMBER.fullmatch(token)) or low.rsplit("-", 1)[-1] in _NUMBER_WORDS
        if not is_number or low in asked or YEAR.match(token):
            continue
        after = tokens[i + 1].lower() if i + 1 < len(tokens) else ""
        if after == "." and i + 2 < len(tokens) and tokens[i + 2].lower() in _MONTHS:
            continue  # "1. marts" is a date
        if info.counted:
            near = set(content_lemmas(" ".join(tokens[i + 1 : i + 4]), info.language))
            if not part_match(info.counted, near):
                continue
        found.append(token)
    return found


def is_person(name: str) -> bool:
    """A name of two or more words whose last is no institution word ("Kommune", "Kommunal")."""
    parts = name.split()
    return len(parts) >= 2 and parts[-1].lower() not in _INSTITUTION_WORDS
