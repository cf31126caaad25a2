"""The local model library: every GGUF the app can load without the network.

Three sources: models downloaded into the app's models directory (the bundled default
model is assembled there too), GGUFs already in the Hugging Face cache (shared with
llama.cpp's `-hf` and other tools), and files the user opened or dropped, remembered by
path. Each entry carries what its GGUF header says (architecture, quantization); split
models appear once, as their first shard.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from app.core import paths
from app.core.errors import PlaygroundError
from app.core.gguf.model_card import ModelCard, read_model_card
from app.core.gguf.quant_files import is_projector, quant_of, shard_info
from app.core.library.hf_cache import hf_cache_dir, llama_cache_dir, remove_cached
from app.core.library.verified_stamp import read_stamp, stamp_path
from app.core.state_file import read_state, update_state

log = logging.getLogger(__name__)
Source = Literal["downloaded", "bundled", "hf-cache", "llama-cache", "imported"]
SOURCE_LABELS: dict[Source, str] = {
    "downloaded": "Downloaded",
    "bundled": "Bundled",
    "hf-cache": "Hugging Face cache",
    "llama-cache": "llama.cpp cache",
    "imported": "Imported",
}


@dataclass(frozen=True)
class LibraryEntry:
    path: Path
    source: Source
    size: int  # all shards together
    files: tuple[Path, ...]  # the file and, for a split model, its other shards
    repo_id: str | None
    name: str
    architecture: str
    quantization: str
    error: str | None = None  # why the header could not be read

    @property
    def deletable(self) -> bool:
        return self.source in ("downloaded", "hf-cache", "llama-cache")


class Library:
    """Lists and manages the local models; metadata is cached by path, size and mtime."""

    def __init__(
        self,
        models_dir: Path | None = None,
        hf_cache: Path | None = None,
        imports_file: Path | None = None,
        llama_cache: Path | None = None,
    ) -> None:
        self.models_dir = models_dir or paths.models_dir()
        self.hf_cache = hf_cache if hf_cache is not None else hf_cache_dir()
        self.llama_cache = llama_cache if llama_cache is not None else llama_cache_dir()
        self.imports_file = imports_file or paths.data_dir() / "imported-models.json"
        self._cards: dict[tuple[str, int, int], ModelCard | str] = {}
        self._lock = threading.Lock()

    # ---- listing ----------------------------------------------------------------------
    def entries(self) -> list[LibraryEntry]:
        seen: set[Path] = set()
        found: list[LibraryEntry] = []
        for source, files in (
            ("downloaded", self._downloaded()),
            ("hf-cache", self._hf_cached()),
            ("llama-cache", self._llama_cached()),
            ("imported", self._imported()),
        ):
            try:
                for path, repo_id in files:
                    try:
                        key = path.resolve()
                        if key in seen:
                            continue
                        seen.add(key)
                        found.append(self._entry(path, source, repo_id))  # type: ignore[arg-type]
                    except (OSError, RuntimeError) as exc:  # RuntimeError: a symlink loop
                        log.warning("the library skips %s: %s", path, exc)
            except OSError as exc:  # the walk itself failed (a name too long, a lost disk)
                log.warning("the library could not list all of its %s models: %s", source, exc)
        return found

    def _downloaded(self) -> Iterable[tuple[Path, str | None]]:
        if not self.models_dir.is_dir():
            return
        for path in sorted(self.models_dir.rglob("*.gguf")):
            if not _is_model_file(path):
                continue
            stamp = read_stamp(path)
            repo = stamp.get("repo_id") if stamp else None
            rel = path.relative_to(self.models_dir).parts
            if repo is None and len(rel) >= 3:
                repo = f"{rel[0]}/{rel[1]}"
            yield path, str(repo) if repo else None

    def _hf_cached(self) -> Iterable[tuple[Path, str | None]]:
        if not self.hf_cache.is_dir():
            return
        for repo_dir in sorted(self.hf_cache.glob("models--*")):
            repo_id = repo_dir.name.removeprefix("models--").replace("--", "/")
            snapshots = repo_dir / "snapshots"
            for path in sorted(snapshots.glob("*/**/*.gguf")):
                if _is_model_file(path) and path.exists():
                    yield path, repo_id

    def _llama_cached(self) -> Iterable[tuple[Path, str | None]]:
        """llama.cpp's own downloads (`-hf`): flat files named owner_repo_file.gguf."""
        if not self.llama_cache.is_dir() or self.llama_cache.resolve() == self.hf_cache.resolve():
            return
        for path in sorted(self.llama_cache.rglob("*.gguf")):
            if _is_model_file(path) and path.is_file():
                yield path, None

    def _imported(self) -> Iterable[tuple[Path, str | None]]:
        for text in self.imported_paths():
            path = Path(text)
            if path.is_file():
                yield path, None

    def _entry(self, path: Path, source: Source, repo_id: str | None) -> LibraryEntry:
        files = tuple(_shards_of(path))
        size = sum(_size(f) for f in files)
        if source == "downloaded" and path.parent == self.models_dir and repo_id is None:
            source = "bundled"
        card = self.card(path)
        if isinstance(card, str):
            return LibraryEntry(
                path, source, size, files, repo_id, path.stem, "?", quant_of(path.name), card
            )
        return LibraryEntry(
            path,
            source,
            size,
            files,
            repo_id,
            card.name,
            card.architecture,
            card.quantization,
        )

    def card(self, path: Path) -> ModelCard | str:
        """The file's model card, or the reason it cannot be read."""
        try:
            st = path.stat()
        except OSError as exc:
            return f"cannot read: {exc.strerror or exc}"
        key = (str(path), st.st_size, st.st_mtime_ns)
        with self._lock:
            cached = self._cards.get(key)
        if cached is not None:
            return cached
        result: ModelCard | str
        try:
            result = read_model_card(path, require_tensors=False)
        except PlaygroundError as exc:
            result = str(exc)
        with self._lock:
            self._cards[key] = result
        return result

    # ---- imports ----------------------------------------------------------------------
    def imported_paths(self) -> list[str]:
        return _paths(read_state(self.imports_file))

    def add_import(self, path: Path) -> bool:
        """Remember a GGUF the user opened, unless the library already lists it.

        Returns whether the library changed."""
        path = path.resolve()
        if path.is_relative_to(self.models_dir.resolve()) or any(
            cache.is_dir() and path.is_relative_to(cache.resolve())
            for cache in (self.hf_cache, self.llama_cache)
        ):
            return False
        added = False

        def add(value: Any | None) -> list[str]:
            nonlocal added
            known = _paths(value)
            if str(path) in known:
                return known
            added = True
            return [str(path), *known]

        update_state(self.imports_file, add)
        return added

    # ---- removal ----------------------------------------------------------------------
    def remove(self, entry: LibraryEntry) -> int:
        """Delete a downloaded or cached model (every shard); returns the bytes freed.

        Imported files are only forgotten: they belong to the user.
        """
        if entry.source == "imported":

            def drop(value: Any | None) -> list[str]:
                return [p for p in _paths(value) if Path(p) != entry.path]

            update_state(self.imports_file, drop)
            return 0
        if entry.source == "bundled":
            raise PlaygroundError("the bundled default model cannot be deleted")
        if entry.source == "hf-cache":
            return remove_cached(self.hf_cache, entry.files)
        freed = 0
        for file in entry.files:
            freed += _size(file)
            file.unlink(missing_ok=True)
            stamp_path(file).unlink(missing_ok=True)
        if entry.source == "downloaded":
            _prune_empty(entry.path.parent, self.models_dir)
        return freed


def _paths(document: Any | None) -> list[str]:
    """The imported files' list as a state file holds it (anything else: none)."""
    return [str(v) for v in document] if isinstance(document, list) else []


def _is_model_file(path: Path) -> bool:
    if is_projector(path.name):
        return False
    shard = shard_info(path.name)
    return shard is None or shard.index == 1


def _shards_of(path: Path) -> list[Path]:
    shard = shard_info(path.name)
    if shard is None:
        return [path]
    names = [f"{shard.stem}-{i:05d}-of-{shard.total:05d}.gguf" for i in range(1, shard.total + 1)]
    return [path.with_name(n) for n in names if path.with_name(n).exists()]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def _prune_empty(folder: Path, root: Path) -> None:
    root = root.resolve()
    folder = folder.resolve()
    while folder != root and folder.is_relative_to(root):
        try:
            folder.rmdir()
        except OSError:
            return
        folder = folder.parent
