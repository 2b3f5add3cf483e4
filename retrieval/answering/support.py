"""Which sentences of a model's answer may be shown: each must cite a given source that supports it.

The test is lexical, which is enough to catch a model that cites [1] for something [1] does not say:
- every number in the sentence occurs in the cited passages (or in the question);
- in the passages' language, at least half of the sentence's content words that the question did not already
  bring are found in the cited passages (names taken from the question prove nothing);
- in another language (an English answer about Danish articles) words cannot be matched, so the names and
  numbers must be found there, and there must be at least one.
A sentence without a valid marker, or not supported, is dropped; what is left is renumbered 1..k. The same check
runs on a stream as it arrives (only complete sentences) and on the finished reply, so a front end never shows
text that the final answer would not contain.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from dataclasses import dataclass

from retrieval.answering.citations import REFUSAL_MARKER, answer_language, renumber, strip_markers
from retrieval.text import content_terms, guess_language, names_in, number_values, split_sentences
from retrieval.types import Language

_MARKER = re.compile(r"\[\s*(\d{1,3}(?:\s*[,;]\s*\d{1,3})*)\s*\]")
_LEADING_MARKERS = re.compile(r"^(?:\s*\[\s*\d{1,3}(?:\s*[,;]\s*\d{1,3})*\s*\])+")
SHARE_NEEDED = 0.5  # of the sentence's new content words found in the cited passages


@dataclass(frozen=True)
class Checked:
    text: str  # the kept sentences, markers renumbered 1..k in order of first use
    sources: list[int]  # the given source numbers (1-based) in that order
    invalid: int  # markers naming no given source
    dropped: int  # sentences without a valid marker, or not supported by what they cite


def check_answer(text: str, passages: Sequence[str], question: str, *, complete: bool = True) -> Checked:
    """Keep the sentences of `text` that cite one of `passages` (numbered from 1) and are supported by it.

    With `complete=False` (a reply still streaming) the last sentence, which may still grow, is left out.
    """
    pieces = _sentences(text, complete)
    kept: list[str] = []
    invalid = dropped = 0
    for gap, sentence in pieces:
        cited = [int(n) for m in _MARKER.finditer(sentence) for n in re.split(r"[,;\s]+", m.group(1)) if n]
        valid = [k for k in dict.fromkeys(cited) if 1 <= k <= len(passages)]
        invalid += sum(1 for k in cited if not 1 <= k <= len(passages))
        evidence = tuple(passages[k - 1] for k in valid)
        if REFUSAL_MARKER in sentence or not valid or not supports(sentence, evidence, question):
            dropped += 1
            continue
        kept.append((gap if kept else "") + sentence)
    fixed = renumber("".join(kept), len(passages))
    return Checked(fixed.text, fixed.sources, invalid, dropped)


@functools.lru_cache(maxsize=1024)  # a stream re-checks the same sentences as it grows
def supports(sentence: str, passages: tuple[str, ...], question: str) -> bool:
    """Whether `passages` (the sources a sentence cites) say what the sentence says, by words and numbers."""
    claim = strip_markers(sentence)
    evidence = "\n".join(passages)
    if not number_values(claim) <= number_values(evidence) | number_values(question):
        return False
    language = guess_language(evidence)
    found = _terms(evidence, language)
    terms = content_terms(claim, language)
    if answer_language(claim) in (None, language):
        asked = set(content_terms(question, language))
        new = [t for t in terms if t not in asked] or terms
        return bool(new) and sum(t in found for t in new) >= SHARE_NEEDED * len(new)
    names = [w for name in names_in(claim) for w in name.lower().split()]
    anchors = names + sorted(number_values(claim))
    flat = evidence.lower()
    return bool(anchors) and all(w in flat for w in names)


def _sentences(text: str, complete: bool) -> list[tuple[str, str]]:
    """(whitespace before, sentence) pairs; a marker that opens a sentence belongs to the one before it."""
    pieces: list[list[str]] = []
    spans = split_sentences(text)
    if not complete and spans:
        last = spans.pop()
        if spans and last.text.lstrip().startswith("["):  # "… 44 år. [1" — the one before may still get it
            spans.pop()
    end = 0
    for span in spans:
        body = span.text
        lead = _LEADING_MARKERS.match(body)
        if lead and pieces:
            pieces[-1][1] += " " + lead.group().strip()
            body = body[lead.end() :].strip()
        if body:
            pieces.append([_gap(text[end : span.start]), body])
        end = span.end
    return [(gap, body) for gap, body in pieces]


def _gap(space: str) -> str:
    if "\n\n" in space:
        return "\n\n"
    return "\n" if "\n" in space else " "


@functools.lru_cache(maxsize=256)
def _terms(text: str, language: Language) -> frozenset[str]:
    return frozenset(content_terms(text, language))
