"""The app's own JSON state files (caches, stamps, the library's list, settings), read so
that a damaged one never stops a command: it is set aside as `<name>.bad`, logged, and the
caller rebuilds it.

`json.loads` raises RecursionError, not ValueError, on deeply nested input (a 100,000-
level `[[[…]]]` in a cache file ended `models list` in a traceback), so both are caught.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

BAD_SUFFIX = ".bad"


def parse_json(text: str) -> Any:
    """`json.loads` with every way it fails on bad text as ValueError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def set_aside(path: Path, why: str) -> None:
    """Keep an unusable state file as `<name>.bad` (replacing an older one) and log it."""
    backup = path.with_name(path.name + BAD_SUFFIX)
    try:
        os.replace(path, backup)
    except OSError as exc:
        log.warning("%s is unusable (%s) and could not be set aside: %s", path, why, exc)
        return
    log.warning("%s is unusable (%s); kept as %s and rebuilt", path, why, backup.name)


def read_state(path: Path) -> Any | None:
    """The JSON document in `path`; None when it is missing, unreadable or damaged (a
    damaged file is set aside first, so the next write starts afresh)."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as exc:
        if isinstance(exc, UnicodeDecodeError):
            set_aside(path, "not UTF-8 text")
        else:
            log.warning("cannot read %s: %s", path, exc)
        return None
    try:
        return parse_json(text)
    except ValueError as exc:
        set_aside(path, f"not valid JSON: {exc}")
        return None


def write_state(path: Path, text: str) -> bool:
    """Write a cache or stamp; a write that fails (a full disk, a folder in its place) is
    logged and forgotten: the state is rebuilt next time. Returns whether it was written."""
    from app.core.atomic_file import write_atomic

    try:
        write_atomic(path, text)
    except OSError as exc:
        log.warning("could not write %s: %s", path, exc)
        return False
    return True
