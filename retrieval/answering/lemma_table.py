"""simplemma's dictionaries as sorted arrays cached on disk: the same entries, loaded in milliseconds.

On the first lookup simplemma decodes its whole front-coded dictionary into a Python dict (Danish: about 790,000
entries, 0.75 s on an idle machine), which every cold `kilde ask` paid. Here the decoded entries are written once,
sorted, to the user cache, and later processes find a word by binary search in the saved arrays. simplemma's
lookups only ever call `.get` on a dictionary, and the table holds exactly simplemma's entries, so every lemma is the
one simplemma gives (tests/test_lemma_table.py compares them).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path

import numpy as np
import platformdirs
import simplemma
from simplemma.strategies import DefaultStrategy, DictionaryLookupStrategy
from simplemma.strategies.dictionaries.dictionary_factory import (
    DEFAULT_DICTIONARY_FACTORY,
    CachingDictionaryFactory,
    DecodedStrMapping,
)
from simplemma.utils import normalize_token

TABLE_FORMAT = 1  # bump when the file layout changes


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("kilde", appauthor=False))


class SortedTable(DecodedStrMapping):
    """UTF-8 keys in byte order and their values, each as one blob with end offsets."""

    __slots__ = ("_key_ends", "_keys", "_value_ends", "_values")

    def __init__(self, keys: bytes, key_ends: np.ndarray, values: bytes, value_ends: np.ndarray) -> None:
        self._keys = keys
        self._key_ends = key_ends
        self._values = values
        self._value_ends = value_ends

    @classmethod
    def of(cls, entries: Mapping[str, str]) -> SortedTable:
        pairs = sorted((k.encode(), v.encode()) for k, v in entries.items())
        keys = [k for k, _ in pairs]
        values = [v for _, v in pairs]
        key_ends = np.cumsum([len(k) for k in keys], dtype=np.int64)
        value_ends = np.cumsum([len(v) for v in values], dtype=np.int64)
        return cls(b"".join(keys), key_ends, b"".join(values), value_ends)

    def _key(self, i: int) -> bytes:
        return self._keys[int(self._key_ends[i - 1]) if i else 0 : int(self._key_ends[i])]

    def _value(self, i: int) -> bytes:
        return self._values[int(self._value_ends[i - 1]) if i else 0 : int(self._value_ends[i])]

    def _lookup(self, key: str) -> str | None:
        wanted = key.encode()
        low, high = 0, len(self._key_ends)
        while low < high:
            middle = (low + high) // 2
            if self._key(middle) < wanted:
                low = middle + 1
            else:
                high = middle
        if low < len(self._key_ends) and self._key(low) == wanted:
            return self._value(low).decode()
        return None

    def __iter__(self) -> Iterator[str]:
        return (self._key(i).decode() for i in range(len(self)))

    def __len__(self) -> int:
        return len(self._key_ends)

    def save(self, path: Path) -> None:
        """Written whole or not at all: a half-written table would give wrong lemmas, not an error."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as fh:
                np.savez(
                    fh,
                    keys=np.frombuffer(self._keys, dtype=np.uint8),
                    key_ends=self._key_ends,
                    values=np.frombuffer(self._values, dtype=np.uint8),
                    value_ends=self._value_ends,
                )
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    @classmethod
    def load(cls, path: Path) -> SortedTable:
        with np.load(path) as saved:
            return cls(
                saved["keys"].tobytes(), saved["key_ends"], saved["values"].tobytes(), saved["value_ends"]
            )


class CachedTableFactory(CachingDictionaryFactory):
    """simplemma's dictionaries, read from the cached table or, the first time, decoded by simplemma and saved."""

    __slots__ = ("cache_dir",)

    def __init__(self, cache_dir: Path) -> None:
        super().__init__()
        self.cache_dir = cache_dir

    def table_path(self, lang: str) -> Path:
        # The dictionaries ship inside the package, so its version names their content.
        return self.cache_dir / f"simplemma-{simplemma.__version__}-{lang}-v{TABLE_FORMAT}.npz"

    def _get_dictionary_uncached(self, lang: str) -> Mapping[str, str]:
        path = self.table_path(lang)
        damaged = (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile)
        with contextlib.suppress(*damaged):  # damaged: decode anew
            return SortedTable.load(path)
        table = SortedTable.of(DEFAULT_DICTIONARY_FACTORY.get_dictionary(lang))
        with contextlib.suppress(OSError):  # a read-only cache still answers; it decodes again next time
            table.save(path)
        return table


class Lemmatizer:
    """`simplemma.is_known` and `simplemma.lemmatize` (greedy off, as their defaults) over the cached tables."""

    def __init__(self, cache_dir: Path) -> None:
        factory = CachedTableFactory(cache_dir)
        self._lookup = DictionaryLookupStrategy(factory)
        self._lemmatizer = simplemma.Lemmatizer(
            lemmatization_strategy=DefaultStrategy(dictionary_factory=factory)
        )

    def is_known(self, word: str, lang: str) -> bool:
        return self._lookup.get_lemma(normalize_token(word), lang) is not None

    def lemmatize(self, word: str, lang: str) -> str:
        return str(self._lemmatizer.lemmatize(word, lang))
