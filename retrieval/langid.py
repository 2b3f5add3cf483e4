"""Which language a text is in: Danish or English, with py3langid restricted to the two.

Measured on the project's tuning prompts and 300 SQuAD questions (`benchmarks/RESULTS.md`): right on all 362, the
old function-word guess on 359. Below the index layer, so ingest can record the corpus language once.
"""

from __future__ import annotations

import functools
import re

from retrieval.types import Language


@functools.cache
def _identifier() -> object:
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE)
    identifier.set_languages(["da", "en"])
    return identifier


def detect_language(text: str) -> Language:
    """Danish or English (a short question is enough); Danish when there is nothing to go on."""
    if not re.search(r"[^\W\d_]", text):
        return "da"
    label = _identifier().classify(text)[0]  # type: ignore[attr-defined]
    return "en" if label == "en" else "da"
