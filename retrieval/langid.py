"""Which language a text is in: Danish or English, with py3langid restricted to the two.

Measured on the project's tuning prompts and 300 SQuAD questions (`benchmarks/RESULTS.md`): right on all 362, the
old function-word guess on 359. Below the index layer, so ingest can record the corpus language once.
"""

from __future__ import annotations

import functools
import re
from array import array
from pathlib import Path

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
            _native(model["nextmove"]),
            model["out_feat"].tolist(),
            tk_row=_native(model["nextmove_row"]),
        )


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
