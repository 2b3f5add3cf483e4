"""Prompt texts, kept as Markdown files next to this module so they can be read and edited as prose.

A prompt file may hold several messages, each opened by a line `<!-- role -->` (e.g. `<!-- system -->`,
`<!-- user -->`). Placeholders are `{name}`; `fill` replaces them in one pass, so braces inside the values
(article text, questions) are never read as placeholders.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from pathlib import Path

PROMPT_DIR = Path(__file__).resolve().parent
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_ROLE = re.compile(r"^<!--\s*(system|user)\s*-->\s*$", re.MULTILINE)
_PLACEHOLDER = re.compile(r"\{([a-z_]+)\}")


def available() -> list[str]:
    return sorted(p.stem for p in PROMPT_DIR.glob("*.md"))


@functools.cache
def load_prompt(name: str) -> str:
    """The text of `prompts/<name>.md`; a ValueError naming the known prompts when there is no such file."""
    path = PROMPT_DIR / f"{name}.md"
    if not _NAME.match(name) or not path.is_file():
        raise ValueError(f"unknown prompt {name!r}; known prompts: {', '.join(available()) or 'none'}")
    return path.read_text(encoding="utf-8")


@functools.cache
def prompt_messages(name: str) -> tuple[tuple[str, str], ...]:
    """The prompt split into (role, template) pairs, in order; a file without role lines is one system message."""
    text = load_prompt(name)
    marks = list(_ROLE.finditer(text))
    if not marks:
        return (("system", text.strip()),)
    parts = []
    for i, mark in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(text)
        parts.append((mark.group(1), text[mark.end() : end].strip()))
    return tuple(parts)


def fill(template: str, values: Mapping[str, str]) -> str:
    """Replace `{name}` placeholders in one pass; unknown names are left as they are."""
    return _PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)
