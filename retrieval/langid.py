"""Which language a text is in: Danish or English, with py3langid restricted to the two.

Measured on the project's tuning prompts and 300 SQuAD questions (`benchmarks/RESULTS.md`): right on all 362, the
old function-word guess on 359. Below the index layer, so ingest can record the corpus language once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from array import array
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from retrieval.types import Language

LANGUAGES = ("da", "en")
# py3langid's model cut to these two columns (benchmarks/langid_slice.py): 2 MB of zlib, not 68 MB of LZMA to unpack.
SLICE = Path(__file__).with_name("langid_da_en.npz")


@functools.cache
def _identifier() -> object:
    import numpy as np
    from py3langid.langid import LanguageIdentifier

    with np.load(SLICE) as model:
        return LanguageIdentifier(
            model["ptc"],
            model["pc"],
            model["classes"].tolist(),
            _nextmove(lambda: model["nextmove"]),
            model["out_feat"].tolist(),
            tk_row=_native(model["nextmove_row"]),
        )


def _nextmove(unpack: Callable[[], Any]) -> Sequence[int]:
    """The automaton's transition table (9.8 million entries, 39 MB): unpacked once into the user cache and
    memory-mapped from there, so a question reads only the pages its few bytes walk through (unpacking it took a
    fifth of a cold `kilde ask`). Without a writable cache it is unpacked in memory, as before."""
    import hashlib

    import numpy as np
    import platformdirs

    digest = hashlib.sha256(SLICE.read_bytes()).hexdigest()[:16]
    path = Path(platformdirs.user_cache_dir("kilde", appauthor=False)) / f"langid-nextmove-{digest}.npy"
    with contextlib.suppress(OSError, ValueError):
        saved = np.load(path, mmap_mode="r")
        if saved.dtype == np.uint32 and saved.ndim == 1:
            return memoryview(saved)  # type: ignore[arg-type]
    table = np.ascontiguousarray(unpack())
    with contextlib.suppress(OSError):
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with tmp.open("wb") as fh:
            np.save(fh, table)
        os.replace(tmp, path)  # whole or not at all
    return _native(table)


def _native(table: object) -> array[int]:
    """The flat C array py3langid walks its automaton on (what its own loader builds)."""
    import numpy as np

    values = np.ascontiguousarray(table)
    return array({2: "H", 4: "I", 8: "L"}[values.dtype.itemsize], values.tobytes())


def detect_language(text: str) -> Language:
    """Danish or English (a short question is enough); Danish when there is nothing to go on."""
    if not re.search(r"[^\W\d_]", text):
        return "da"
    label = _identifier().classify(text)[0]  # type: ignore[attr-defined]
    return "en" if label == "en" else "da"
