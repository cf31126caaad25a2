"""Sizes, counts and durations the way people read them (253.1 MB, 1.2M, 3 min)."""

from __future__ import annotations

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
