"""How a token's bytes are written in labels: whitespace made visible, bytes escaped."""

from __future__ import annotations

WHITESPACE_MARKS = {" ": "␣", "\n": "↵", "\t": "→"}


def visible_piece(piece: bytes) -> str:
    """The piece as text with spaces, newlines and tabs shown (␣ ↵ →); bytes that are not
    UTF-8 on their own (part of a character split across tokens) as \\xNN."""
    text = piece.decode("utf-8", "backslashreplace")
    for char, mark in WHITESPACE_MARKS.items():
        text = text.replace(char, mark)
    return text or "∅"
