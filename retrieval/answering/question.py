"""What a question asks for: its language, content terms, names, expected answer type, and article-metadata intent."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

from retrieval.answering.language import content_lemmas, lemma
from retrieval.langid import detect_language
from retrieval.text import STOPWORDS, content_terms, names_in, stem
from retrieval.types import Language

AnswerType = Literal["money", "age", "number", "duration", "date", "person", "name", "place", "any"]
MetaField = Literal["author", "date", "publisher", "url"]

# First match wins, so the more specific cues come first.
_TYPE_CUES: list[tuple[AnswerType, re.Pattern[str]]] = [
    ("duration", re.compile(r"\b(hvor længe|how long|for how many years)\b")),
    ("age", re.compile(r"\b(hvor gammel|alder(en)?|how old|what age)\b")),
    (
        "money",
        re.compile(
            r"\b(løn(nen)?|tjener|tjente|koster|kostede|pris(en)?|beløb(et)?|betaler|betalte|salary|wage|"
            r"earns?|earned|costs?|price|paid|pay)\b"
        ),
    ),
    (
        "number",
        re.compile(
            r"\b(hvor mange|hvor meget|hvor stor[et]?|antal(let)?|procent|how many|how much|what number|"
            r"what share|what proportion|percent(age)?|andel(en)?|share|proportion)\b"
        ),
    ),
    (
        "date",
        re.compile(
            r"\b(hvornår|hvilket år|hvilken dato|siden hvornår|when|what year|which year|what date)\b"
        ),
    ),
    (
        "place",
        re.compile(
            r"\b(i hvilken by|hvilken by|hvor\b(?! (mange|meget|stor\w*|længe|ofte|gammel))|where|which city|"
            r"what city|which town)"
        ),
    ),
    ("person", re.compile(r"\b(hvem|who|whom)\b")),
    ("name", re.compile(r"\b(hvilket parti|which party|what party|hvad hedder|what is the name)\b")),
]
# Types whose cue words only frame the question; a money or age cue ("koster", "løn") is what it is about.
_PERSONAL = re.compile(r"\b(han|hun|he|she|they|de)\b")
_FRAME_TYPES = frozenset(["name", "person", "place", "date", "number"])
# "hvor mange kommuner": the counted noun, which the number in the answer should stand next to.
_COUNTED = re.compile(r"\b(?:hvor mange|how many)\s+([\wæøå-]+)")
_META_CUES: list[tuple[MetaField, re.Pattern[str]]] = [
    (
        "author",
        re.compile(
            r"\b(hvem (har )?skr[ei]v\w*|forfatter|journalist(en)?|skrevet af|who wrote|author|written by|byline)\b"
        ),
    ),
    ("url", re.compile(r"\b(url|link(et)?|webadresse|web address)\b")),
    (
        "publisher",
        re.compile(
            r"\b((hvilket|hvilken) (medie|avis|udgiver|hjemmeside|website|magasin|blad|nyhedsside)|"
            r"hvor (blev|er) .{0,60}(udgivet|publiceret|bragt)|udgiver|which (outlet|newspaper|publication|website|"
            r"site|publisher|media|magazine)|where was .{0,60}published|publisher|outlet)\b"
        ),
    ),
    (
        "date",
        re.compile(
            # any form of the verb: "udgav"/"udgivet", "publish"/"published", "opdateres"
            r"\b((hvornår|dato|when|date|what day|which day)\b.{0,80}\b(udgiv\w*|udgav|udkom\w*|publicer\w*|bragt\w*|"
            r"offentliggj\w*|dater\w*|opdater\w*|udsend\w*|publish\w*|post(s|ed)?|dated|update[sd]?|release[sd]?)|"
            r"udgivelsesdato|publication date)\b"
        ),
    ),
]
_CATEGORY = re.compile(
    r"\b(?:hvilke[nt]?|which|what|hvor stor[te]? (?:en|et)?)\s+(?:(?:konkrete?|specifikke?|nye?|specific|new)\s+)?"
    r"([\wæøå-]+)"
)
# "Hvad mener/synes X om Y?": the verb asks for X's view; the articles give views as quotes and "siger X"
VIEW_CUE = re.compile(
    r"\b(mener|mente|synes|syntes|siger|sagde|sagt|udtaler|udtalte|fortæller|fortalte|tænker|holdning|syn på|"
    r"think|thinks|thought|say|says|said|believe|believes|view|views|opinion|feel|feels)\b",
    re.IGNORECASE,
)
ARTICLE_WORDS = re.compile(  # the kinds of text an article is: its form, never its subject
    r"\b(artikel\w*|artikl\w*|reportage\w*|interview\w*|historie\w*|indlæg\w*|nyhed\w*|tekst\w*|portræt\w*|kronik\w*|"
    r"klumme\w*|anmeldelse\w*|article|story|piece|report|post|text|profile|column|review|editorial)\b"
)


@dataclass(frozen=True)
class QuestionInfo:
    text: str
    language: Language
    terms: list[str]
    names: list[str]
    numbers: list[str]
    answer_type: AnswerType
    meta_fields: list[MetaField] = field(default_factory=list)
    category_terms: list[str] = field(default_factory=list)
    counted: str | None = None
    role: str | None = None  # "Hvem er formand for ...": the role the person in the answer must hold
    focus: str | None = None  # the first content word: what the question is about ("koster", "løn")
    frame: str = ""  # the words that told the answer type ("hvad hedder", "how many")


def analyse(question: str) -> QuestionInfo:
    lowered = question.lower()
    language = detect_language(question)
    answer_type: AnswerType = "any"
    frame = ""
    for kind, cue in _TYPE_CUES:
        found = cue.search(lowered)
        if found:
            answer_type, frame = kind, found.group()
            break
    meta_fields: list[MetaField] = [f for f, cue in _META_CUES if cue.search(lowered)]
    # "Hvornår blev aftalen indgået?", "Who wrote the novel?", "What is Link's sword?" are about the subject,
    # not the article: a question about the article's own facts names the article.
    if not ARTICLE_WORDS.search(lowered):
        meta_fields = []
    terms = content_terms(question)
    names = [n for n in names_in(question) if n.lower() not in {"hvem", "hvad", "hvor", "who", "what"}]
    return QuestionInfo(
        text=question,
        language=language,
        terms=terms,
        names=names,
        numbers=re.findall(r"\d+(?:[.,]\d+)*", question),
        answer_type=answer_type,
        meta_fields=meta_fields,
        category_terms=[stem(w) for w in _CATEGORY.findall(lowered)],
        counted=next((stem(w) for w in _COUNTED.findall(lowered)), None),
        role=_role(question, terms, names) if answer_type == "person" else None,
        focus=terms[0] if terms else None,
        frame=frame,
    )


def lemma_view(info: QuestionInfo) -> QuestionInfo:
    """The question with simplemma lemmas in place of stems and without the words that only frame it ("hvad
    hedder", "what is the name"), as the fitted answerer matches words."""
    lowered = info.text.lower()
    terms = list(dict.fromkeys(content_lemmas(info.text, info.language)))
    framing = set(content_lemmas(info.frame, info.language)) if info.answer_type in _FRAME_TYPES else set()
    if info.names or _PERSONAL.search(lowered):  # whose view: a person named or referred to
        framing.update(
            content_lemmas(" ".join(m.group() for m in VIEW_CUE.finditer(info.text)), info.language)
        )
    terms = [t for t in terms if t not in framing]
    name_words = {w for n in info.names for w in re.findall(r"[\wæøå-]+", n.lower())}
    return replace(
        info,
        terms=terms,
        category_terms=[lemma(w, info.language) for w in _CATEGORY.findall(lowered)],
        # "hvor mange af ...": a function word is no counted noun
        counted=next(
            (lemma(w, info.language) for w in _COUNTED.findall(lowered) if w not in STOPWORDS), None
        ),
        role=next((t for t in terms if t not in name_words and not t.isdigit()), None)
        if info.answer_type == "person"
        else None,
        focus=terms[0] if terms else None,
    )


def _role(question: str, terms: list[str], names: list[str]) -> str | None:
    """The first content word of a who-question that is not part of a name."""
    name_stems = {stem(w) for n in names for w in re.findall(r"[\wæøå]+", n.lower())}
    return next((t for t in terms if t not in name_stems and not t.isdigit()), None)
