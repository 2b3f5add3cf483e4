"""What a question asks for: its language, content terms, names, expected answer type, and article-metadata intent."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Literal

from retrieval.text import content_terms, guess_language, names_in, stem
from retrieval.types import Language

AnswerType = Literal["number", "date", "name", "place", "any"]
MetaField = Literal["author", "date", "publisher", "url"]

_TYPE_CUES: list[tuple[AnswerType, re.Pattern[str]]] = [
    (
        "number",
        re.compile(r"\b(hvor mange|hvor meget|hvor stor[et]?|antal(let)?|how many|how much|what number)\b"),
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
            r"\b(i hvilken by|hvilken by|hvor\b(?! (mange|meget|stor|længe|ofte|gammel))|where|which city|what city|which town)"
        ),
    ),
    (
        "name",
        re.compile(r"\b(hvem|who|whom|hvilket parti|which party|what party|hvad hedder|what is the name)\b"),
    ),
]
_META_CUES: list[tuple[MetaField, re.Pattern[str]]] = [
    (
        "author",
        re.compile(
            r"\b(hvem (har )?skr[ei]v|forfatter|journalist(en)?|skrevet af|who wrote|author|written by|byline)\b"
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
            r"\b((hvornår|dato|when|date|what day|which day)\b.{0,80}\b(udgivet|publiceret|bragt|offentliggjort|"
            r"dateret|published|posted|dated)|udgivelsesdato|publication date)\b"
        ),
    ),
]
_CATEGORY = re.compile(r"\b(?:hvilke[nt]?|which|what)\s+([\wæøå-]+)")
_ARTICLE_WORDS = re.compile(
    r"\b(artikl\w*|reportage\w*|interview\w*|historie\w*|indlæg\w*|nyhed\w*|article|story|piece|report|post)\b"
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


def analyse(question: str) -> QuestionInfo:
    lowered = question.lower()
    language = guess_language(question)
    answer_type: AnswerType = "any"
    for kind, cue in _TYPE_CUES:
        if cue.search(lowered):
            answer_type = kind
            break
    meta_fields: list[MetaField] = [f for f, cue in _META_CUES if cue.search(lowered)]
    # "Hvornår blev aftalen indgået?" is about the story, not the article: a date cue needs an article word.
    if meta_fields == ["date"] and not _ARTICLE_WORDS.search(lowered):
        meta_fields = []
    return QuestionInfo(
        text=question,
        language=language,
        terms=content_terms(question),
        names=[n for n in names_in(question) if n.lower() not in {"hvem", "hvad", "hvor", "who", "what"}],
        numbers=re.findall(r"\d+(?:[.,]\d+)*", question),
        answer_type=answer_type,
        meta_fields=meta_fields,
        category_terms=[stem(w) for w in _CATEGORY.findall(lowered)],
    )
