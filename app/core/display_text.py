"""Text from outside (a Hub repository's file names, a server's model name) made safe to
show: control characters and the marks that reorder text are written as escapes, so a
name cannot break a line, move the cursor or display backwards."""

from __future__ import annotations

import unicodedata

# Bidirectional embeddings, overrides and isolates, and the invisible direction marks.
_REORDERING = {
    0x200E, 0x200F, 0x061C, 0x202A, 0x202B, 0x202C, 0x202D, 0x202E,
    0x2066, 0x2067, 0x2068, 0x2069,
}  # fmt: skip


def _escape(char: str) -> str:
    code = ord(char)
    if char == "\n":
        return "\\n"
    if char == "\t":
        return "\\t"
    if char == "\r":
        return "\\r"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    return f"\\u{code:04x}" if code <= 0xFFFF else f"\\U{code:08x}"


def printable(text: str) -> str:
    """`text` with control, format-reordering and unassigned characters escaped."""
    if text.isprintable() and not any(ord(c) in _REORDERING for c in text):
        return text
    return "".join(
        _escape(c)
        if ord(c) in _REORDERING
        or unicodedata.category(c) in ("Cc", "Cs", "Co", "Cn")
        or (not c.isprintable() and c != " ")
        else c
        for c in text
    )
