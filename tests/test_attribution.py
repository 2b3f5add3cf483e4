"""Questions about what a named person says are answered only with that person's own words."""

from __future__ import annotations

import numpy as np

from retrieval.answering.attribution import attribution_target, spoken_by
from retrieval.answering.features import Candidate
from retrieval.answering.question import analyse


def _cands(*texts: str) -> list[Candidate]:
    out, at = [], 0
    for text in texts:
        out.append(Candidate("doc", at, at + len(text), text, np.zeros(3, dtype=np.float32)))
        at += len(text) + 1
    return out


def test_the_person_asked_about_is_the_target() -> None:
    assert (
        attribution_target(analyse("Hvad mener Troels Lund Poulsen om jobcentrene?"), "")
        == "Troels Lund Poulsen"
    )
    assert attribution_target(analyse("What does Jens Ive think about the rules?"), "") == "Jens Ive"
    assert (
        attribution_target(analyse("Hvem er Troels Lund Poulsen?"), "") is None
    )  # not a question about a view


def test_a_pronoun_takes_the_person_from_the_conversation() -> None:
    assert attribution_target(analyse("Hvad sagde han om benchmarking?"), "Troels Lund Poulsen") == (
        "Troels Lund Poulsen"
    )


def test_a_sentence_with_a_speaker_cue_belongs_to_the_nearest_name() -> None:
    cands = _cands(
        "Jobcentrene skal have mere frihed, siger Thomas Kastrup-Larsen.",
        "Ifølge Troels Lund Poulsen skal der mere transparens til.",
    )
    assert spoken_by(cands, 0, "Thomas Kastrup-Larsen")
    assert not spoken_by(cands, 0, "Troels Lund Poulsen")
    assert spoken_by(cands, 1, "Troels Lund Poulsen")


def test_a_quote_is_attributed_by_the_sentence_that_names_its_speaker() -> None:
    cands = _cands(
        "- Vi skal udstille de kommuner, der ikke leverer.",
        "Det siger beskæftigelsesminister Troels Lund Poulsen.",
        "Han nævner også andre ting uden citat.",
    )
    assert spoken_by(cands, 0, "Troels Lund Poulsen")
    assert not spoken_by(cands, 0, "Jens Ive")
    assert not spoken_by(cands, 2, "Troels Lund Poulsen")  # no quote and no cue: not his words


def test_a_sentence_that_only_mentions_the_person_is_not_theirs() -> None:
    cands = _cands("Thomas Kastrup-Larsen svarer på kritikken fra Troels Lund Poulsen, siger Kastrup-Larsen.")
    assert not spoken_by(cands, 0, "Troels Lund Poulsen")
