"""The answerer's hand-set numbers live in one documented file (hand_set.yaml), not in its code: every entry says
what it is, how it was chosen and why, every entry is read by the code, and the code keeps at most ten numbers of
its own, each with a comment saying why."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from retrieval.answering.lexicon import HAND_SET, HAND_SET_FILE, read_hand_set

PACKAGE = HAND_SET_FILE.parent
MOST_NUMBERS_IN_CODE = 10


def numbers_in_code() -> list[tuple[str, int, str, str]]:
    """(file, line number, the line, the line above) of every number written in the package's code, but 0 and 1."""
    found = []
    for path in sorted(PACKAGE.glob("*.py")):
        source = path.read_text(encoding="utf-8")
        lines = source.splitlines()
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, ast.Constant) and type(node.value) in (int, float) and node.value not in (0, 1):
                found.append((path.name, node.lineno, lines[node.lineno - 1], lines[node.lineno - 2]))
    return found


def test_the_code_keeps_at_most_ten_numbers_each_with_its_reason() -> None:
    found = numbers_in_code()
    assert len(found) <= MOST_NUMBERS_IN_CODE, "\n".join(f"{f}:{n}: {line.strip()}" for f, n, line, _ in found)
    reasoned = [f for f, _, line, above in found if "#" in line or above.lstrip().startswith("#")]
    assert len(reasoned) == len(found)


def test_every_hand_set_number_is_read_by_the_code() -> None:
    code = "\n".join(path.read_text(encoding="utf-8") for path in PACKAGE.parent.rglob("*.py"))
    assert HAND_SET
    assert not [name for name in HAND_SET if f'"{name}"' not in code]


def test_hand_set_names_are_unique_across_sections() -> None:
    sections = read_hand_set()
    assert sum(len(values) for values in sections.values()) == len(HAND_SET)


@pytest.mark.parametrize(
    ("entry", "error"),
    [
        ("value: 3\n    what: x\n    how: guessed\n    why: y", "how it was chosen"),
        ("value: '3'\n    what: x\n    how: judgement\n    why: y", "needs a number"),
        ("value: 3\n    what: x\n    how: judgement", "what it is and why"),
    ],
)
def test_an_entry_without_its_provenance_is_refused(tmp_path: Path, entry: str, error: str) -> None:
    bad = tmp_path / "hand_set.yaml"
    bad.write_text(f"passage:\n  max_words:\n    {entry}\n", encoding="utf-8")
    with pytest.raises(ValueError, match=re.escape(error)):
        read_hand_set(bad)
