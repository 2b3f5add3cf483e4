"""The front ends' output edge: `retrieval.safe_text` (one rule for all output), plus rich text that is never markup.

Text from a file, a user or a model may contain `[/b]` or `[red]`: given to rich as a string it would be read as
markup (and `[/b]` without an opening tag raises `MarkupError`). `plain_text` makes it a `rich.text.Text`, which rich
shows as it is.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from retrieval.safe_text import json_safe, safe_text

if TYPE_CHECKING:  # rich loads only when something is drawn (`kilde --help` and `ask` draw nothing with it)
    from rich.text import Text

__all__ = ["json_safe", "plain_text", "safe_text"]


def plain_text(text: object, *, one_line: bool = False, style: str = "") -> Text:
    """`text` made safe (`safe_text`) as a rich `Text`: shown literally, never parsed as markup."""
    from rich.text import Text

    return Text(safe_text(text, one_line=one_line), style=style)
