"""Whose words a sentence is: the person a question asks the view of, and whether a sentence quotes them.

News text quotes several people on one subject; the sentence that best matches "Hvad mener X om Y?" is often
Y's critic agreeing or answering. A sentence counts as X's only with a speaker cue ("siger X", "ifølge X",
"X mener") next to X's name in it, or in the sentence that opens or closes the quote it belongs to.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

import numpy as np

from retrieval.answering.features import Evidence, window
from retrieval.answering.language import part_match
from retrieval.answering.question import VIEW_CUE, QuestionInfo
from retrieval.answering.value_types import is_person

QUOTE_START = re.compile(r"^\s*(?:[-–—]\s|[”\"«»„])")
SPEAKER_CUE = re.compile(
    r"\b(siger|sagde|fortæller|fortalte|mener|mente|synes|ifølge|understreger|forklarer|forklarede|udtaler|"
    r"lyder det fra|tilføjer|påpeger|says|said|tells|told|according to|thinks|believes|adds|added|explains)\b",
    re.IGNORECASE,
)


class Sentence(Protocol):
    @property
    def doc_id(self) -> str: ...
    @property
    def text(self) -> str: ...


def attribution_target(info: QuestionInfo, context: str) -> str | None:
    """The person whose view the question asks for ("Hvad mener X om ...?"), or None."""
    if not VIEW_CUE.search(info.text):
        return None
    people = [n for n in info.names if is_person(n)]  # "ifølge HK Kommunal" is no person's view
    if people:
        return people[0]
    if _PRONOUN.search(info.text):
        carried = [n for n in context.split("; ") if is_person(n)]
        if carried:
            return carried[0]
    return None


_PRONOUN = re.compile(r"\b(han|hun|he|she)\b", re.IGNORECASE)


def spoken_by(cands: Sequence[Sentence], i: int, person: str) -> bool:
    """Is sentence `i` the person's own words: a speaker cue next to their name in it, or in the sentence
    that opens or closes the quote it belongs to?"""
    surname = person.rsplit(maxsplit=1)[-1].lower()
    cand = cands[i]
    own = _speaker(cand.text)
    if own is not None:
        return surname in own.lower()
    for j in (i + 1, i - 1):
        if 0 <= j < len(cands) and cands[j].doc_id == cand.doc_id:
            quoted = QUOTE_START.match(cand.text) or QUOTE_START.match(cands[j].text)
            speaker = _speaker(cands[j].text)
            if quoted and speaker is not None:
                return surname in speaker.lower()
    return False


def _speaker(text: str) -> str | None:
    """The name nearest a speaker cue in the text ("siger Jens Ive", "ifølge X", "X mener"), if any."""
    cue = SPEAKER_CUE.search(text)
    if cue is None:
        return None
    names = [(m.start(), m.group()) for m in _NAME_ANYWHERE.finditer(text)]
    names = [(p, n) for p, n in names if n.lower() not in _NOT_SPEAKERS]
    if not names:
        return ""  # "siger han": a pronoun; not a named speaker
    return min(names, key=lambda pn: abs(pn[0] - cue.start()))[1]


_NAME_ANYWHERE = re.compile(r"\b[A-ZÆØÅ][\wæøåÆØÅ'’-]+(?:\s+[A-ZÆØÅ][\wæøåÆØÅ'’.-]*)*")
_NOT_SPEAKERS = frozenset(["det", "de", "der", "men", "og", "jeg", "vi", "han", "hun", "the", "it", "but"])


def needs_speaker(text: str) -> bool:
    return bool(QUOTE_START.match(text)) and not SPEAKER_CUE.search(text)


def keep_own_words(found: Evidence, speaker: str, topic: Sequence[str] = ()) -> bool:
    """Rule out (score -inf) every candidate that is not the speaker's own words, or (with `topic`) that neither
    it nor its neighbours say anything of the topic's terms; False when no candidate is left."""

    def on_topic(i: int) -> bool:
        lemmas = set().union(*(found.cands[j].lemmas for j in window(found.cands, i)))
        return any(part_match(t, lemmas) > 0 for t in topic)

    own = [
        k
        for k, i in enumerate(found.pool)
        if spoken_by(found.cands, i, speaker) and (not topic or on_topic(i))
    ]
    if not own:
        return False
    masked = np.full_like(found.scores, -np.inf)
    masked[own] = found.scores[own]
    found.scores = masked
    return True
