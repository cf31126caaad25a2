"""sha256 of model files, remembered by path, size and modification time.

Hashing a multi-gigabyte GGUF takes seconds; sessions record the model's hash, so it is
computed once per file version and kept in a small JSON cache in the data directory.
"""

from __future__ import annotations

import hashlib
import threading
from pathlib import Path

from app.core import paths
from app.core.state_file import add_entry, read_state

_LOCK = threading.Lock()


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while block := fh.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


def _cache_file() -> Path:
    return paths.cache_dir() / "file-hashes.json"


def cached_sha256(path: Path) -> str:
    """The file's sha256, from the cache when its size and mtime are unchanged."""
    st = path.stat()
    key = str(path.resolve())
    stamp = [st.st_size, st.st_mtime_ns]
    with _LOCK:
        cache = read_state(_cache_file())
        if not isinstance(cache, dict):
            cache = {}
        entry = cache.get(key)
        if isinstance(entry, dict) and entry.get("stamp") == stamp:
            return str(entry["sha256"])
    digest = sha256_of(path)

    with _LOCK:
        add_entry(_cache_file(), key, {"stamp": stamp, "sha256": digest})
    return digest
