"""What was verified about a model file, kept beside it as `<file>.verified.json`.

Hashing a multi-gigabyte GGUF takes seconds, so a file whose sha256 was checked (the
assembled default model, a finished download) gets a stamp with the sha256 and the size
and modification time it had; while those still match, the check need not be repeated.
"""

from __future__ import annotations

import json
from pathlib import Path

from app.core.state_file import read_state, write_state

STAMP_SUFFIX = ".verified.json"


def stamp_path(target: Path) -> Path:
    return target.with_name(target.name + STAMP_SUFFIX)


def read_stamp(target: Path) -> dict[str, object] | None:
    """The stamp of `target`, if it is still that file (same size and mtime)."""
    data = read_state(stamp_path(target))
    try:
        st = target.stat()
    except OSError:
        return None
    if not isinstance(data, dict):
        return None
    if data.get("size") != st.st_size or data.get("mtime_ns") != st.st_mtime_ns:
        return None
    return data


def write_stamp(target: Path, sha256: str | None, **source: str) -> None:
    """Record `target`'s verified sha256 (and where it came from: repo_id, revision...)."""
    st = target.stat()
    document = {"sha256": sha256, "size": st.st_size, "mtime_ns": st.st_mtime_ns, **source}
    write_state(stamp_path(target), json.dumps(document))
