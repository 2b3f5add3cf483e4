"""Language-aware text handling: sentence splitting with offsets, terms for lexical matching, language guess."""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

import Stemmer

from retrieval.types import Language

_ABBREVIATIONS = frozenset(
    line.strip()
    for line in (Path(__file__).with_name("abbreviations.txt")).read_text(encoding="utf-8").splitlines()
    if line.strip() and not line.startswith("#")
)
_VOWELS = frozenset("aeiouyæøåéäöü")
# A footnote marker after the stop belongs to the sentence it ends: "sold.[3] Next", "so.[citation needed] It".
_SENTENCE_END = re.compile(r"[.!?…]+[”\"'»’)]*(?:\[[\w ]{1,30}\])*(?=\s+)|[”\"»]\s*(?=\n)|\n+")
_NEXT_START = re.compile(r"\s*(?:[-–—]\s|[”\"«»„(]|\d|[A-ZÆØÅÄÖÜ])")
_WORD = re.compile(r"[\wæøåÆØÅ]+(?:[-.,][\wæøåÆØÅ]+)*", re.UNICODE)


@dataclass(frozen=True)
class Span:
    start: int
    end: int
    text: str


def split_sentences(text: str, offset: int = 0) -> list[Span]:
    """Split `text` into sentences; each span's offsets index `text` (plus `offset`)."""
    # Not pysbd (measured in issue 12): on the Danish articles it keeps quoted speech as one sentence (24 of our
    # 202 ends lost, so a citation would quote three sentences) and it is 70-100x slower; on SQuAD text it is even.
    spans: list[Span] = []
    start = 0
    for match in _SENTENCE_END.finditer(text):
        end = match.end()
        piece = text[start:end]
        if not piece.strip():
            start = end
            continue
        if "\n" not in match.group() and not _ends_sentence(text, match.start(), end):
            continue
        spans.extend(_span(text, start, end, offset))
        start = end
    spans.extend(_span(text, start, len(text), offset))
    return spans


def _ends_sentence(text: str, dot: int, end: int) -> bool:
    if not _NEXT_START.match(text, end):
        return False
    if text[dot] != ".":
        return True
    word_start = dot
    while word_start > 0 and not text[word_start - 1].isspace() and text[word_start - 1] not in '("”«':
        word_start -= 1
    word = text[word_start:dot].lower()
    written = text[word_start:dot]
    acronym = written.isupper() and len(written) > 1  # "KL." ends a sentence; "kl. 10" does not
    if not acronym and (word in _ABBREVIATIONS or word.rstrip(".") in _ABBREVIATIONS):
        return False
    # "Brdr. Hansen", "Mr. Smith", "cand.scient.pol. Jensen": a title-case word with no vowel, or a dot inside,
    # is an abbreviation
    if written.istitle() and written.isalpha() and len(word) <= 5 and not _VOWELS & set(word):
        return False
    if "." in word.strip(".") and not any(ch.isdigit() for ch in word):
        return False
    if len(word) == 1 and word.isalpha():  # an initial: "Joram G. Menzer"
        return False
    # "1. marts": an ordinal number followed by a lower-case word is not an end.
    return not (word.isdigit() and text[end:].lstrip()[:1].islower())


def _span(text: str, start: int, end: int, offset: int) -> list[Span]:
    raw = text[start:end]
    stripped = raw.strip()
    if not stripped:
        return []
    lead = len(raw) - len(raw.lstrip())
    s = start + lead
    e = s + len(stripped)
    return [Span(s + offset, e + offset, stripped)]


_STOPWORDS_DA = frozenset(
    [
        "og",
        "i",
        "at",
        "det",
        "en",
        "den",
        "til",
        "er",
        "som",
        "på",
        "de",
        "med",
        "han",
        "af",
        "for",
        "ikke",
        "der",
        "var",
        "mig",
        "sig",
        "men",
        "et",
        "har",
        "om",
        "vi",
        "min",
        "havde",
        "ham",
        "hun",
        "nu",
        "over",
        "da",
        "fra",
        "du",
        "ud",
        "sin",
        "dem",
        "os",
        "op",
        "man",
        "hans",
        "hvor",
        "eller",
        "hvad",
        "skal",
        "selv",
        "her",
        "alle",
        "vil",
        "blev",
        "kunne",
        "ind",
        "når",
        "være",
        "dog",
        "noget",
        "ville",
        "jo",
        "deres",
        "efter",
        "ned",
        "skulle",
        "denne",
        "end",
        "dette",
        "mit",
        "også",
        "under",
        "have",
        "dig",
        "anden",
        "hende",
        "mine",
        "alt",
        "meget",
        "sit",
        "sine",
        "vor",
        "mod",
        "disse",
        "hvis",
        "din",
        "nogle",
        "hos",
        "blive",
        "mange",
        "ad",
        "bliver",
        "hendes",
        "været",
        "thi",
        "jer",
        "sådan",
        "hvem",
        "hvilken",
        "hvilket",
        "hvilke",
        "hvornår",
        "hvordan",
        "hvorfor",
        "hvorledes",
        "mon",
        "siger",
        "sagde",
        "sagt",
        "ifølge",
        "få",
        "får",
        "fik",
        "kan",
        "kom",
        "går",
        "gik",
        "gør",
        "gjorde",
        "gøre",
        "lige",
        "mere",
        "mest",
        "mindre",
        "flere",
        "sig",
        "seg",
        "hvad's",
        "både",
        "samt",
        "ja",
        "nej",
    ]
)
_STOPWORDS_EN = frozenset(
    [
        "the",
        "a",
        "an",
        "and",
        "or",
        "of",
        "to",
        "in",
        "on",
        "at",
        "for",
        "by",
        "with",
        "from",
        "as",
        "is",
        "are",
        "was",
        "were",
        "be",
        "been",
        "being",
        "it",
        "its",
        "this",
        "that",
        "these",
        "those",
        "he",
        "she",
        "they",
        "them",
        "his",
        "her",
        "their",
        "we",
        "our",
        "you",
        "your",
        "i",
        "me",
        "my",
        "who",
        "whom",
        "whose",
        "which",
        "what",
        "when",
        "where",
        "why",
        "how",
        "do",
        "does",
        "did",
        "done",
        "have",
        "has",
        "had",
        "not",
        "no",
        "yes",
        "so",
        "than",
        "then",
        "there",
        "here",
        "about",
        "into",
        "over",
        "under",
        "up",
        "down",
        "out",
        "can",
        "could",
        "would",
        "should",
        "will",
        "shall",
        "may",
        "might",
        "must",
        "also",
        "very",
        "more",
        "most",
        "much",
        "many",
        "any",
        "some",
        "each",
        "such",
        "only",
        "own",
        "same",
        "other",
        "just",
        "said",
        "says",
        "say",
        "according",
    ]
)
# Words that say how or where, not what: a question may use them although the articles never do.
_GENERIC = frozenset(
    [
        "præcis",
        "oprindelig",
        "egentlig",
        "egentligt",
        "helt",
        "konkret",
        "konkrete",
        "især",
        "særligt",
        "bare",
        "blot",
        "altså",
        "igen",
        "allerede",
        "stadig",
        "endnu",
        "netop",
        "cirka",
        "omkring",
        "iflg",
        "nogen",
        "ellers",
        "derfor",
        "dermed",
        "desuden",
        "således",
        "nemlig",
        "faktisk",
        "vist",
        "godt",
        "rigtig",
        "ret",
        "lidt",
        "tit",
        "ofte",
        "aldrig",
        "altid",
        "artikel",
        "artiklen",
        "artiklens",
        "artikler",
        "artiklerne",
        "tekst",
        "teksten",
        "reportage",
        "reportagen",
        "indlæg",
        "indlægget",
        "both",
        "either",
        "neither",
        "exactly",
        "actually",
        "currently",
        "originally",
        "really",
        "article",
        "articles",
        "text",
        "story",
        "piece",
        "report",
        "s",
    ]
)
STOPWORDS = _STOPWORDS_DA | _STOPWORDS_EN | _GENERIC


@functools.cache
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def words(text: str) -> list[str]:
    return [w.lower() for w in _WORD.findall(text)]


# Irregular Danish verb forms the stemmer cannot join ("indgik", "indgået" -> "indgå"); compounds keep their prefix.
_IRREGULAR = {
    "gik": "gå",
    "gået": "gå",
    "fik": "få",
    "fået": "få",
    "blev": "blive",
    "skrev": "skrive",
    "skrevet": "skrive",
    "sagde": "sige",
    "sagt": "sige",
    "tog": "tage",
    "taget": "tage",
    "holdt": "holde",
    "kom": "komme",
    "kommet": "komme",
    "lod": "lade",
    "satte": "sætte",
    "sat": "sætte",
    "stod": "stå",
    "stået": "stå",
    "gav": "give",
    "givet": "give",
    "valgte": "vælge",
    "valgt": "vælge",
    "traf": "træffe",
    "truffet": "træffe",
    "bad": "bede",
    "bedt": "bede",
    "fandt": "finde",
    "fundet": "finde",
    "drog": "drage",
    "trak": "trække",
    "trukket": "trække",
    "sagde's": "sige",
    "lå": "ligge",
    "ligget": "ligge",
    "gjorde": "gøre",
    "gjort": "gøre",
}


def lemma(word: str) -> str:
    word = word.lower()
    for form in sorted(_IRREGULAR, key=len, reverse=True):
        if word.endswith(form) and len(word) - len(form) <= 4:
            return word[: len(word) - len(form)] + _IRREGULAR[form]
    return word


def stem(word: str, language: Language = "da") -> str:
    return str(_stemmer("danish" if language == "da" else "english").stemWord(lemma(word)))


def content_terms(text: str, language: Language = "da") -> list[str]:
    """Stems of the words that carry meaning (no stopwords), in order, without repeats."""
    seen: dict[str, None] = {}
    for word in words(text):
        if word in STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        seen.setdefault(stem(word, language), None)
    return list(seen)


def guess_language(text: str) -> Language:
    """Danish or English, from function words and letters; Danish when unsure."""
    tokens = words(text)
    da = sum(t in _STOPWORDS_DA for t in tokens)
    en = sum(t in _STOPWORDS_EN and t not in _STOPWORDS_DA for t in tokens)
    # Function words decide; Danish letters alone do not ("Who is the mayor of Sønderborg?" is English).
    return "en" if en > da else "da"


_NAME = re.compile(r"(?<![.!?:]\s)(?<![”\"-]\s)(?<!^)\b[A-ZÆØÅ][\wæøåÆØÅ'’-]*(?:\s+[A-ZÆØÅ][\wæøåÆØÅ'’-]*)*")


_NUMBER_VALUE = re.compile(r"\d+(?:[.,]\d+)*")


def number_values(text: str) -> set[str]:
    """The numbers in a text as digit strings: "1.500" and "1,500" are "1500", "02" is "2"."""
    return {str(int(re.sub(r"[.,]", "", n))) for n in _NUMBER_VALUE.findall(text)}


def names_in(text: str) -> list[str]:
    """Capitalised words and runs of them that do not open a sentence: names of people, places, bodies."""
    return [m.group().strip() for m in _NAME.finditer(re.sub(r"\[\d+\]", "", text))]
