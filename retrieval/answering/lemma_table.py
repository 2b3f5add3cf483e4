"""simplemma's dictionaries as sorted arrays cached on disk: the same entries, loaded in milliseconds.

On the first lookup simplemma decodes its whole front-coded dictionary into a Python dict (Danish: about 790,000
entries, 0.75 s on an idle machine), which every cold `kilde ask` paid. Here the decoded entries are written once,
sorted, to the user cache, and later processes find a word by binary search in the saved arrays. simplemma's
lookups only ever call `.get` on a dictionary, and the table holds exactly simplemma's entries, so every lemma is the
one simplemma gives (tests/test_lemma_table.py compares them).
"""

from __future__ import annotations

import bisect
import contextlib
import os
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

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

TABLE_FORMAT = 2  # bump when the file layout changes


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("kilde", appauthor=False))


class SortedTable(DecodedStrMapping):
    """UTF-8 keys in byte order and their values, each as one blob with end offsets, and each key's first 8 bytes
    as a number (`prefix`), which narrows a lookup to the keys that share them before comparing bytes."""

    __slots__ = ("_key_ends", "_keys", "_prefix", "_value_ends", "_values")

    def __init__(self, arrays: Mapping[str, Any]) -> None:
        self._prefix = arrays["prefix"]
        # memoryviews: slices are bytes and items Python ints, with no numpy scalar in between
        self._keys, self._key_ends = memoryview(arrays["keys"]), memoryview(arrays["key_ends"])
        self._values, self._value_ends = memoryview(arrays["values"]), memoryview(arrays["value_ends"])

    @classmethod
    def of(cls, entries: Mapping[str, str]) -> SortedTable:
        pairs = sorted((k.encode(), v.encode()) for k, v in entries.items())
        keys = b"".join(k for k, _ in pairs)
        key_ends = np.cumsum([len(k) for k, _ in pairs], dtype=np.int64)
        return cls(
            {
                "keys": np.frombuffer(keys, dtype=np.uint8),
                "key_ends": key_ends,
                "values": np.frombuffer(b"".join(v for _, v in pairs), dtype=np.uint8),
                "value_ends": np.cumsum([len(v) for _, v in pairs], dtype=np.int64),
                "prefix": np.array([_prefix(k) for k, _ in pairs], dtype=np.uint64),
            }
        )

    def _key(self, i: int) -> bytes:
        return bytes(self._keys[self._key_ends[i - 1] if i else 0 : self._key_ends[i]])

    def _value(self, i: int) -> bytes:
        return bytes(self._values[self._value_ends[i - 1] if i else 0 : self._value_ends[i]])

    def _lookup(self, key: str) -> str | None:
        wanted = key.encode()
        first = np.uint64(_prefix(wanted))
        low, high = int(self._prefix.searchsorted(first, "left")), int(self._prefix.searchsorted(first, "right"))
        i = bisect.bisect_left(range(high), wanted, low, high, key=self._key)
        return self._value(i).decode() if i < high and self._key(i) == wanted else None

    def __iter__(self) -> Iterator[str]:
        return (self._key(i).decode() for i in range(len(self)))

    def __len__(self) -> int:
        return len(self._key_ends)

    def save(self, path: Path) -> None:
        """Written whole or not at all (a directory renamed into place): a half-written table would give wrong
        lemmas, not an error."""
        path.parent.mkdir(parents=True, exist_ok=True)
        fresh = Path(tempfile.mkdtemp(dir=path.parent, suffix=".tmp"))
        try:
            for name in ARRAYS:
                np.save(fresh / f"{name}.npy", np.asarray(getattr(self, f"_{name}")))
            if path.exists():  # a damaged table
                shutil.rmtree(path)
            os.replace(fresh, path)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise

    @classmethod
    def load(cls, path: Path) -> SortedTable:
        """The saved arrays, memory-mapped: a lookup reads the few pages it touches, not 30 MB."""
        arrays = {name: np.load(path / f"{name}.npy", mmap_mode="r") for name in ARRAYS}
        n = len(arrays["prefix"])
        if not (
            len(arrays["key_ends"]) == len(arrays["value_ends"]) == n
            and (n == 0 or (arrays["key_ends"][-1] == len(arrays["keys"]) and arrays["value_ends"][-1] == len(arrays["values"])))
        ):
            raise ValueError(f"{path}: arrays of different tables")
        return cls(arrays)


ARRAYS = ("keys", "key_ends", "values", "value_ends", "prefix")


def _prefix(key: bytes) -> int:
    """A key's first bytes as a big-endian uint64 (zero-padded): ordered as the keys are."""
    size = 8  # bytes of a uint64
    return int.from_bytes(key[:size].ljust(size, b"\0"), "big")


class CachedTableFactory(CachingDictionaryFactory):
    """simplemma's dictionaries, read from the cached table or, the first time, decoded by simplemma and saved."""

    __slots__ = ("cache_dir",)

    def __init__(self, cache_dir: Path) -> None:
        super().__init__()
        self.cache_dir = cache_dir

    def table_path(self, lang: str) -> Path:
        # The dictionaries ship inside the package, so its version names their content.
        return self.cache_dir / f"simplemma-{simplemma.__version__}-{lang}-v{TABLE_FORMAT}"

    def _get_dictionary_uncached(self, lang: str) -> Mapping[str, str]:
        path = self.table_path(lang)
        damaged = (OSError, ValueError)
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
