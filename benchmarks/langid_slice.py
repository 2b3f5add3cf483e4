"""Write `retrieval/langid_da_en.npz`: the Danish and English columns of py3langid's model, for `retrieval.langid`.

    uv run --frozen python benchmarks/langid_slice.py

The model proper is LZMA-compressed with all 97 languages, and decompressing it was most of a cold `kilde ask`'s
language step (0.4 s idle). Restricted to da/en, py3langid scores exactly these two columns, so the slice gives
the same labels; `tests/test_langid.py` checks that against the installed model. Run again after upgrading py3langid.
"""

from __future__ import annotations

import io
import lzma
import sys
from pathlib import Path

import numpy as np
from py3langid.langid import MODEL_DIR, MODEL_FILE

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from retrieval.langid import LANGUAGES, SLICE  # noqa: E402


def main() -> None:
    with lzma.open(MODEL_DIR / MODEL_FILE) as packed, np.load(io.BytesIO(packed.read())) as model:
        classes = model["classes"].tolist()
        columns = [
            i for i, label in enumerate(classes) if label in LANGUAGES
        ]  # model order, as set_languages
        np.savez_compressed(
            SLICE,
            ptc=model["ptc"][:, columns],
            pc=model["pc"][columns],
            classes=model["classes"][columns],
            nextmove=model["nextmove"],
            nextmove_row=model["nextmove_row"],
            out_feat=model["out_feat"],
        )
    print(f"{SLICE}: {SLICE.stat().st_size / 1e6:.1f} MB")


if __name__ == "__main__":
    main()
