"""Which language a text is in: Danish or English, with py3langid restricted to the two.

Measured on the project's tuning prompts and 300 SQuAD questions (`benchmarks/RESULTS.md`): right on all 362, the
old function-word guess on 359. Below the index layer, so ingest can record the corpus language once.
"""

from __future__ import annotations

import contextlib
import functools
import os
import re
from pathlib import Path
from typing import Any

from retrieval.types import Language

LANGUAGES = ("da", "en")
# py3langid's model cut to these two columns (benchmarks/langid_slice.py): 2 MB of zlib, not 68 MB of LZMA to unpack.
SLICE = Path(__file__).with_name("langid_da_en.npz")
ARRAYS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")  # what it holds


@functools.cache
def _identifier() -> object:
    from py3langid.langid import LanguageIdentifier

    model = _arrays()
    return LanguageIdentifier(
        model["ptc"],
        model["pc"],
        model["classes"].tolist(),
        memoryview(model["nextmove"]),  # walked byte by byte: a flat C array, as py3langid's own loader makes
        memoryview(model["out_feat"]),
        tk_row=memoryview(model["nextmove_row"]),
    )


def _arrays() -> dict[str, Any]:
    """The slice's arrays, unpacked once into the user cache and memory-mapped from there: a question reads only
    the pages its few bytes walk through of the 39 MB transition table (unpacking it took a fifth of a cold
    `kilde ask`; the smaller arrays, ~15 ms). Without a writable cache they are unpacked in memory, as before."""
    import hashlib

    import numpy as np
    import platformdirs

    digest = hashlib.sha256(SLICE.read_bytes()).hexdigest()[:16]
    cache = Path(platformdirs.user_cache_dir("kilde", appauthor=False))
    paths = {name: cache / f"langid-{name}-{digest}.npy" for name in ARRAYS}
    with contextlib.suppress(OSError, ValueError):
        return {name: np.load(path, mmap_mode="r") for name, path in paths.items()}
    with np.load(SLICE) as model:
        arrays = {name: np.ascontiguousarray(model[name]) for name in ARRAYS}
    with contextlib.suppress(OSError):
        cache.mkdir(parents=True, exist_ok=True)
        for name, path in paths.items():
            tmp = path.with_suffix(f".{os.getpid()}.tmp")
            with tmp.open("wb") as fh:
                np.save(fh, arrays[name])
            os.replace(tmp, path)  # each whole or not at all
    return arrays


def detect_language(text: str) -> Language:
    """Danish or English (a short question is enough); Danish when there is nothing to go on."""
    if not re.search(r"[^\W\d_]", text):
        return "da"
    label = _identifier().classify(text)[0]  # type: ignore[attr-defined]
    return "en" if label == "en" else "da"
