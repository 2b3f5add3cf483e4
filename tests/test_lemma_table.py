"""The cached lemma tables give simplemma's own answers: the same entries, the same lemma for every word."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
import simplemma
from simplemma.strategies.dictionaries.dictionary_factory import DEFAULT_DICTIONARY_FACTORY

from retrieval.answering.lemma_table import CachedTableFactory, Lemmatizer, SortedTable
from retrieval.settings import PROJECT_ROOT
from retrieval.text import words


def corpus_and_prompt_words() -> set[str]:
    files = [*(PROJECT_ROOT / "corpus").rglob("*.md"), *(PROJECT_ROOT / "tests" / "prompts").glob("*.yaml")]
    assert files
    return {w for path in files for w in words(path.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("lang", ["da", "en"])
def test_saved_table_holds_exactly_simplemmas_entries(lang: str, tmp_path: Path) -> None:
    factory = CachedTableFactory(tmp_path)
    built = factory.get_dictionary(lang)
    assert factory.table_path(lang).exists()
    loaded = SortedTable.load(factory.table_path(lang))
    stock = dict(DEFAULT_DICTIONARY_FACTORY.get_dictionary(lang).items())
    assert dict(loaded.items()) == stock
    assert dict(built.items()) == stock


@pytest.mark.parametrize("lang", ["da", "en"])
def test_same_lemmas_as_simplemma(lang: str, tmp_path: Path) -> None:
    """Every corpus and prompt word and each of its tails (the compound heads `language.lemma` tries), and a
    sample of the dictionary's own keys, from a table decoded and saved and then from the saved file."""
    keys = sorted(DEFAULT_DICTIONARY_FACTORY.get_dictionary(lang))
    sample = random.Random(12).sample(keys, 20_000)
    tails = {w[cut:] for w in corpus_and_prompt_words() for cut in range(len(w) - 1)}
    checked = sorted(tails | set(sample))
    for lemmatizer in (Lemmatizer(tmp_path), Lemmatizer(tmp_path)):  # the second reads the saved table
        for word in checked:
            assert lemmatizer.is_known(word, lang) == simplemma.is_known(word, lang=lang), word
            assert lemmatizer.lemmatize(word, lang) == simplemma.lemmatize(word, lang=lang), word


def test_unreadable_table_is_decoded_again(tmp_path: Path) -> None:
    factory = CachedTableFactory(tmp_path)
    factory.table_path("da").parent.mkdir(parents=True, exist_ok=True)
    factory.table_path("da").write_bytes(b"not a table")
    assert Lemmatizer(tmp_path).lemmatize("børn", "da") == "barn"


def test_a_damaged_cached_table_is_decoded_anew(tmp_path: Path) -> None:
    Lemmatizer(tmp_path).lemmatize("hedder", "da")  # writes the Danish table
    [table] = tmp_path.glob("*-da-*/values.npy")
    table.write_bytes(table.read_bytes()[:1000])  # a damaged disk

    assert Lemmatizer(tmp_path).lemmatize("børn", "da") == simplemma.lemmatize("børn", lang="da")
