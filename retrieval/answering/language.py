"""Words as lemmas, from a kept library: `simplemma` for Danish and English (the language: `retrieval.langid`).

Lemmas join the forms Snowball stems apart (hedder/hedde, sagde/sige,
fik/få, børn/barn). Danish compounds are matched by their parts, since they are right-headed.
"""

from __future__ import annotations

import functools
from collections.abc import Set as AbstractSet
from pathlib import Path

import platformdirs
import simplemma
from simplemma.strategies import DefaultStrategy, DictionaryLookupStrategy
from simplemma.strategies.dictionaries.trie_dictionary_factory import TrieDictionaryFactory
from simplemma.utils import normalize_token

from retrieval.answering.lexicon import HAND_SET
from retrieval.text import STOPWORDS, stem, words
from retrieval.types import Language

_MIN_PART: int = HAND_SET["compound_part_min_chars"]


class CachedSimplemma:
    """`simplemma.is_known` and `simplemma.lemmatize` (their defaults) over simplemma's dictionaries cached on disk
    as tries (its `TrieDictionaryFactory`): decoding a dictionary into a dict took 0.75 s on every cold start; the
    trie holds the same entries and loads in milliseconds."""

    def __init__(self, cache_dir: Path) -> None:
        # The dictionaries ship inside the package, so its version names their content.
        tries = TrieDictionaryFactory(disk_cache_dir=str(cache_dir / f"simplemma-{simplemma.__version__}"))
        self._lookup = DictionaryLookupStrategy(tries)
        self._lemmatizer = simplemma.Lemmatizer(lemmatization_strategy=DefaultStrategy(dictionary_factory=tries))

    def is_known(self, word: str, language: str) -> bool:
        return self._lookup.get_lemma(normalize_token(word), language) is not None

    def lemmatize(self, word: str, language: str) -> str:
        return str(self._lemmatizer.lemmatize(word, language))


_SIMPLEMMA = CachedSimplemma(Path(platformdirs.user_cache_dir("kilde", appauthor=False)))


@functools.lru_cache(maxsize=int(HAND_SET["lemmas"]))
def lemma(word: str, language: Language) -> str:
    """The dictionary form of one lower-cased word; an unknown Danish compound gets its known head's lemma."""
    if word.isdigit() or len(word) < HAND_SET["lemma_min_chars"]:
        return word
    # Lower-cased: the dictionary gives names capitalised ("rudersdals" -> "Rudersdal"), the question's words are not.
    if _SIMPLEMMA.is_known(word, language):
        return _SIMPLEMMA.lemmatize(word, language).lower()
    if language == "da":  # "jobcentrene" -> "jobcenter": lemmatise the longest known tail
        for cut in range(_MIN_PART - 1, len(word) - _MIN_PART + 1):
            head = word[cut:]
            if _SIMPLEMMA.is_known(head, "da"):
                return word[:cut] + _SIMPLEMMA.lemmatize(head, "da").lower()
    return _SIMPLEMMA.lemmatize(word, language).lower()


def content_lemmas(text: str, language: Language) -> list[str]:
    """Lemmas of the words that carry meaning, in order, repeats kept."""
    return [lemma(w, language) for w in content_words(text)]


def content_words(text: str) -> list[str]:
    """The lower-cased words that carry meaning, in order, repeats kept."""
    return [w for w in words(text) if w not in STOPWORDS and (len(w) > 1 or w.isdigit())]


def part_match(term: str, lemmas: AbstractSet[str]) -> float:
    """How well a question lemma is found in a set of text lemmas: 1 exactly, less (`compound_part_match`) as the
    head or a part of a compound ("middel" in "puljemiddel", "regel" in "regelforenkling") or the reverse, else 0."""
    if term in lemmas:
        return 1.0
    if len(term) < _MIN_PART:
        return 0.0
    for other in lemmas:
        if len(other) < _MIN_PART:
            continue
        parts = other.endswith(term) or other.startswith(term) or term.endswith(other) or term.startswith(other)
        if parts or ("-" in other and term in other.split("-")):
            return float(HAND_SET["compound_part_match"])
    return 0.0


def in_vocabulary(term: str, vocab: AbstractSet[str]) -> bool:
    """Is a lemma in a corpus whose words are keyed by Snowball stem (the lexical index's `doc_freq`): whole, or
    as a compound whose head or modifier the corpus uses on its own ("regelforenkling": "forenkling")?"""
    key = stem(term)
    if key in vocab or term in vocab:
        return True
    if len(key) < _MIN_PART:
        return False
    return any(key[j:] in vocab or key[:-j] in vocab for j in range(1, len(key) - _MIN_PART + 1))
