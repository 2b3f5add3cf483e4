"""The output edge: text from articles, users or a model made safe to write to a terminal (or a chat).

One rule for everything shown (terminal, Telegram, eval tables, `--json`, HTML and Markdown reports, logs), and for
what the model answerer checks: it judges the reply as this module leaves it, so nothing hidden in an escape
sequence can count as support and then vanish on screen. It lives in the shared base so that `retrieval` (the
support check, the eval reports) and `bot` (the front ends, through `bot.safe_text`) use the very same code.

Article bodies, titles, urls, file names, questions and model replies are data. Written raw, an ESC/OSC/CSI
sequence can recolour the terminal, set its title, move the cursor over earlier lines or (in some terminals)
write files; a bidi override (U+202E) can make a line read differently from what it says. `safe_text` removes
escape sequences whole, drops the other control and bidi characters, and keeps tabs and line breaks (or
flattens them, for one-line fields such as titles, so a title cannot start a fake line of its own).
"""

from __future__ import annotations

import re

# Escape sequences, removed whole so their parameters do not show up as debris. 7-bit (ESC ...) and 8-bit (C1)
# introducers alike: some terminals act on U+009B as CSI. String payloads stop at a line break, so an
# unterminated OSC cannot eat the rest of the text.
_SEQUENCE = re.compile(
    r"(?:\x1b[\]P_^X]|[\x9d\x90\x9f\x9e\x98])[^\x07\x1b\x9c\n]*(?:\x07|\x1b\\|\x9c)?"  # OSC, DCS, APC, PM, SOS
    r"|\x1b\[[0-?]*[ -/]*[@-~]?"  # CSI: colours, cursor movement, erasing
    # 8-bit CSI (U+009B): the same, but a space or "[" after it is text ("medlemmer\x9b [1]" keeps " [1]")
    r"|\x9b[0-?]*[!-/]*[@-Z\\\]-~]?"
    r"|\x1b[ -/]*[0-~]?"  # any other ESC sequence (ESC c resets the terminal)
)
_BIDI = "\u061c\u200e\u200f\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_DROP = {c: None for c in [*range(0x00, 0x20), 0x7F, *range(0x80, 0xA0)] if c not in (0x09, 0x0A)}
_DROP |= {ord(c): None for c in _BIDI}
_LINE_BREAKS = re.compile(r"\r\n?|[\u2028\u2029\x0b\x0c\x85]")
_VISIBLE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")


def safe_text(text: object, *, one_line: bool = False, visible: bool = False) -> str:
    """`text` without escape sequences, control characters or bidi controls; tabs and newlines stay.

    With `one_line`, all whitespace (newlines too) becomes single spaces: for titles, urls, ids.
    With `visible` (file names and paths in messages), nothing is removed: each such character, line breaks and
    tabs too, is written as a Python escape (`\\x1b`, `\\u202e`), so the name shown can be found on disk
    (`ls $'bad\\x1b[31m.md'`) and still cannot act on the terminal.
    """
    if visible:
        return _VISIBLE.sub(lambda m: _escape(m.group()), str(text))
    value = _SEQUENCE.sub("", str(text))
    value = _LINE_BREAKS.sub("\n", value).translate(_DROP)
    return " ".join(value.split()) if one_line else value


def _escape(char: str) -> str:
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def json_safe(payload: str) -> str:
    """JSON text with the characters `json.dumps(ensure_ascii=False)` leaves raw but a terminal acts on
    (C1 controls, bidi controls, line separators) written as `\\uXXXX` escapes: the same JSON, safe to print."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", payload)


_JSON_RAW = re.compile(f"[\x7f-\x9f\u2028\u2029{_BIDI}]")
