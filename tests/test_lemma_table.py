"""The lemmas from simplemma's dictionaries cached on disk are simplemma's own: the same lemma for every word."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import simplemma
from simplemma.strategies.dictionaries.dictionary_factory import DEFAULT_DICTIONARY_FACTORY

from retrieval.answering.language import CachedSimplemma
from retrieval.settings import PROJECT_ROOT
from retrieval.text import words


def corpus_and_prompt_words() -> set[str]:
    files = [*(PROJECT_ROOT / "corpus").rglob("*.md"), *(PROJECT_ROOT / "tests" / "prompts").glob("*.yaml")]
    assert files
    return {w for path in files for w in words(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("lang", ["da", "en"])
def test_same_lemmas_as_simplemma(lang: str, tmp_path: Path) -> None:
    """Every corpus and prompt word and each of its tails (the compound heads `language.lemma` tries), and a
    sample of the dictionary's own keys, from a dictionary decoded and cached and then from the cached file."""
    keys = sorted(DEFAULT_DICTIONARY_FACTORY.get_dictionary(lang))
    sample = random.Random(12).sample(keys, 20_000)
    tails = {w[cut:] for w in corpus_and_prompt_words() for cut in range(len(w) - 1)}
    checked = sorted(tails | set(sample))
    for cached in (CachedSimplemma(tmp_path), CachedSimplemma(tmp_path)):  # the second reads the cached file
        for word in checked:
            assert cached.is_known(word, lang) == simplemma.is_known(word, lang=lang), word
            assert cached.lemmatize(word, lang) == simplemma.lemmatize(word, lang=lang), word
    assert list(tmp_path.glob(f"simplemma-*/{lang}.dic"))


def test_a_damaged_cached_dictionary_is_decoded_anew(tmp_path: Path) -> None:
    CachedSimplemma(tmp_path).lemmatize("hedder", "da")  # caches the Danish dictionary
    [cached] = tmp_path.glob("simplemma-*/da.dic")
    cached.write_bytes(cached.read_bytes()[:1000])  # a damaged disk

    assert CachedSimplemma(tmp_path).lemmatize("børn", "da") == simplemma.lemmatize("børn", lang="da") == "barn"
