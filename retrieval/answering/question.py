"""What a question asks, worked out once per question: its language, what kind of value it asks for, its
content lemmas, the names and numbers it gives, and whether it asks for an article's own facts."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import get_args

from retrieval.answering.language import content_lemmas, content_words
from retrieval.answering.lexicon import Lexicon, lexicon
from retrieval.langid import detect_language
from retrieval.text import names_in, words
from retrieval.types import Language

# Kinds whose cue words only frame the question ("hvad hedder", "how many"); they need not be in the answer.
_FRAMING_KINDS = frozenset(["name", "person", "place", "date", "number", "age", "duration", "list"])


@dataclass(frozen=True)
class Question:
    text: str
    language: Language
    kind: str  # what it asks for: number, money, date, person, place, name, list, reason, ... or "any"
    lemmas: tuple[str, ...]  # its content lemmas, without the words that only frame it
    words: tuple[str, ...]  # its content words as written (lower-cased), for articles in another language
    names: tuple[str, ...]  # the lower-cased words of the names it gives
    values: frozenset[str]  # the numbers it gives, normalised (`Lexicon.values`)
    meta_fields: tuple[str, ...]  # "author", "date", "publisher", "url" when it asks for an article's facts
    items: int = 0  # how many things a list question asks for ("Hvilke fire kommuner ...?"), 0 when it says not

    def subject(self) -> tuple[str, ...]:
        """Its lemmas without the words that ask for an article's facts: what the article is about."""
        lex = lexicon(self.language)
        cues = set().union(*lex.meta_fields.values()) | lex.article_words
        return tuple(t for t in self.lemmas if t not in cues)


def analyse(text: str, language: Language | None = None) -> Question:
    language = language or detect_language(text)
    lex = lexicon(language)
    lowered = text.lower()
    kind, cue = lex.kind(lowered)
    framing = set(content_lemmas(cue, language)) if kind in _FRAMING_KINDS else set()
    count, count_word = (_items_asked(lowered, cue, lex) if kind == "list" else None) or ("", "")
    framing |= set(content_lemmas(count_word, language))
    lemmas = tuple(dict.fromkeys(t for t in content_lemmas(text, language) if t not in framing))
    plain = set(words(text))
    asked = set(lemmas) | plain
    fields = [f for f, cues in lex.meta_fields.items() if cues & asked] if lex.article_words & plain else []
    if "date" in fields and kind != "date":  # "Hvor blev artiklen udgivet?" asks for the outlet, not the day
        fields = [f for f in fields if f != "date"] or (["publisher"] if kind == "place" else [])
    question_words = frozenset().union(*(lexicon(other).question_words for other in get_args(Language)))
    names = [w for n in names_in(text) for w in words(n) if w not in question_words and len(w) > 1]
    values = lex.values(_without_names(text)).get("number", set()) - {count}
    return Question(
        text=text,
        language=language,
        kind=kind,
        lemmas=lemmas,
        words=tuple(dict.fromkeys(w for w in content_words(text) if w not in {*words(cue), count_word})),
        names=tuple(dict.fromkeys(names)),
        values=frozenset(values),
        meta_fields=tuple(fields),
        items=int(float(count)) if count else 0,
    )


def _items_asked(lowered: str, cue: str, lex: Lexicon) -> tuple[str, str] | None:
    """The number just after a list question's cue ("which three", "what are the three", "hvilke fire"), and
    its word: the count of things asked for, not a value the answer holds."""
    # the count is the cue's next word, or the one after an article ("what are the three")
    after = lowered.split(cue, 1)[1].split()[:2] if cue and cue in lowered else []
    for word in after:
        found = lex.values(word).get("number", set())
        if len(found) == 1:
            return next(iter(found)), word
    return None


def _without_names(text: str) -> str:
    """The text without capitalised names, so "jobCAMP 19" still gives 19 but "Ti" in a name gives no 10."""
    return re.sub(r"\b[A-ZÆØÅ][a-zæøå]+\b", " ", text)


def with_context(q: Question, context: str) -> Question:
    """A follow-up with the names the conversation carried ("Hvad sagde han om ...?" after a question about a
    person): they join its names and words, as if it had said them."""
    carried = [w for w in words(context) if w not in q.names and len(w) > 1]
    if not carried:
        return q
    return replace(
        q,
        names=q.names + tuple(dict.fromkeys(carried)),
        lemmas=tuple(dict.fromkeys(q.lemmas + tuple(content_lemmas(context, q.language)))),
        words=tuple(dict.fromkeys(q.words + tuple(content_words(context)))),
    )
