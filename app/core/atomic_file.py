"""Replace a file in one step, so a reader (or a second app instance) never sees half of
it: write a temporary file beside it, named for this process and thread, then rename."""

from __future__ import annotations

import os
import threading
from pathlib import Path


def temporary_beside(path: Path) -> Path:
    """A name next to `path` no other process or thread writes at the same time."""
    return path.with_name(f".{path.name}.{os.getpid()}-{threading.get_ident()}.tmp")


def write_atomic(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = temporary_beside(path)
    try:
        if isinstance(data, str):
            partial.write_text(data, encoding="utf-8")
        else:
            partial.write_bytes(data)
        os.replace(partial, path)
    finally:
        partial.unlink(missing_ok=True)
