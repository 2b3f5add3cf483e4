"""Across Danish and English, a question's word counts where the sentence has a word spelled much like it."""

from __future__ import annotations

from retrieval.answering.features import _cognate, _coverage


def test_related_words_count_and_unrelated_ones_do_not() -> None:
    assert _cognate("project", frozenset({"det", "nye", "projekt"})) >= 0.5
    assert _cognate("university", frozenset({"universitetet"})) >= 0.5
    assert _cognate("minister", frozenset({"minister"})) == 1.0
    assert _cognate("municipality", frozenset({"kommune", "kommunens"})) == 0.0
    assert _cognate("job", frozenset({"jobs"})) == 0.0  # too short to tell


def test_coverage_across_languages_uses_the_spelling_within_one_language_the_lemmas() -> None:
    weights = {"university": 2.0, "students": 1.0}
    found = frozenset({"universitetet", "har", "mange", "studerende"})
    across, _ = _coverage(["university", "students"], weights, found, across=True)
    within, _ = _coverage(["university", "students"], weights, found)
    assert across > 0.4 and within == 0.0  # "university" found, "students" not (studerende: another word)
