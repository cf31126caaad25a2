"""Sizes, counts and durations the way people read them (253.1 MB, 1.2M, 3 min)."""

from __future__ import annotations

import unicodedata
from datetime import datetime, timezone


def format_bytes(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(n) < 1000 or unit == "TB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1000
    return f"{n:.1f} TB"


def format_count(n: int) -> str:
    if n < 1000:
        return str(n)
    for unit, scale in (("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.1f}".rstrip("0").rstrip(".") + unit
    return str(n)


def format_duration(seconds: float | None) -> str:
    if seconds is None:
        return "–"
    if seconds < 60:
        return f"{seconds:.0f} s"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def format_age(when: datetime | None, now: datetime | None = None) -> str:
    """ "3 days ago", as the Hub lists models."""
    if when is None:
        return "–"
    now = now or datetime.now(timezone.utc)
    days = (now - when).days
    if days < 1:
        return "today"
    if days < 31:
        return f"{days} day{'s' if days != 1 else ''} ago"
    if days < 365:
        months = days // 30
        return f"{months} month{'s' if months != 1 else ''} ago"
    return when.date().isoformat()


def format_percent(p: float) -> str:
    """A probability as every view prints it, always in percent: 45.4%, 0.061%, 0.0032%,
    then 1.2e-05% below a millionth, and 0%."""
    if p >= 0.001:
        return f"{p * 100:.1f}%"
    if p >= 1e-6:
        return f"{p * 100:.2g}%"
    if p > 0:
        return f"{p * 100:.1e}%"
    return "0%"


# Text from outside (a Hub repository's file names, a server's model name) is shown with
# its control characters and the marks that reorder text escaped, so that a name cannot
# break a line, move the cursor or display backwards.
# Bidirectional embeddings, overrides and isolates, and the invisible direction marks:
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
