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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock, Timeout

from app.core.atomic_file import write_atomic

log = logging.getLogger(__name__)

BAD_SUFFIX = ".bad"


def parse_json(text: str) -> Any:
    """`json.loads` with every way it fails on bad text as ValueError."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("nested too deeply") from None


def set_aside(path: Path, why: str) -> Path | None:
    """Keep an unusable state file as `<name>.bad` (replacing an older one) and log it;
    the backup's path, or None when it could not be moved."""
    backup = path.with_name(path.name + BAD_SUFFIX)
    try:
        os.replace(path, backup)
    except OSError as exc:
        log.warning("%s is unusable (%s) and could not be set aside: %s", path, why, exc)
        return None
    log.warning("%s is unusable (%s); kept as %s and rebuilt", path, why, backup.name)
    return backup


def read_state(path: Path) -> Any | None:
    """The JSON document in `path`; None when it is missing, unreadable or damaged (a
    damaged file is set aside first, so the next write starts afresh)."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.warning("cannot read %s: %s", path, exc)
        return None
    try:
        return parse_json(raw.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is one too
        set_aside(path, f"not valid JSON text: {exc}")
        return None


def write_state(path: Path, text: str) -> bool:
    """Write a cache or stamp; a write that fails (a full disk, a folder in its place) is
    logged and forgotten: the state is rebuilt next time. Returns whether it was written."""
    try:
        write_atomic(path, text)
    except OSError as exc:
        log.warning("could not write %s: %s", path, exc)
        return False
    return True


LOCK_SUFFIX = ".lock"
LOCK_WAIT_S = 10.0


def update_state(path: Path, change: Callable[[Any | None], Any]) -> Any:
    """Read, change and write `path` while holding `<name>.lock`, so that two app
    instances changing the same file (each adding a model, say) both keep their entry.
    `change` gets the current document (None when missing or damaged) and returns the
    new one, which is returned. A lock that cannot be had in 10 s (a stuck instance, a
    read-only folder) is logged and the change made without it."""
    lock = FileLock(str(path.with_name(path.name + LOCK_SUFFIX)), timeout=LOCK_WAIT_S)
    try:
        lock.acquire()
    except (Timeout, OSError) as exc:
        log.warning("could not lock %s (%s); writing it unlocked", path, exc)
        return _update(path, change)
    try:  # a failing write is the caller's to handle, not a reason to write again
        return _update(path, change)
    finally:
        lock.release()


def add_entry(path: Path, key: str, value: Any) -> None:
    """Set one entry of a JSON object cache (a file hash, a file that loads), keeping the
    others, locked like update_state; a cache that cannot be written is only logged (it
    is rebuilt when next needed)."""

    def add(document: Any | None) -> dict[str, Any]:
        return {**(document if isinstance(document, dict) else {}), key: value}

    try:
        update_state(path, add)
    except OSError as exc:
        log.warning("could not write %s: %s", path, exc)


def _update(path: Path, change: Callable[[Any | None], Any]) -> Any:
    document = change(read_state(path))
    write_atomic(path, json.dumps(document, indent=1, ensure_ascii=False))
    return document
