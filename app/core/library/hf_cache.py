"""The Hugging Face cache (HF_HUB_CACHE, under HF_HOME), shared with every tool built on
huggingface_hub and with llama.cpp's `-hf`, read and changed only through the client's
public API: a file already there is used instead of downloaded again, downloads can be
kept there (blobs named by their sha256, snapshots linking to them, refs naming the
commit), and a model is deleted with `scan_cache_dir()`'s strategies, which never remove
a blob that another snapshot still links to."""

from __future__ import annotations

import contextlib
import logging
import os
from pathlib import Path

from huggingface_hub import constants, scan_cache_dir, try_to_load_from_cache
from huggingface_hub.errors import CacheNotFound, CorruptedCacheException

from app.core.errors import PlaygroundError

log = logging.getLogger(__name__)
INCOMPLETE_SUFFIX = ".incomplete"  # the client's own suffix for a blob being written


def hf_cache_dir() -> Path:
    return Path(constants.HF_HUB_CACHE)


def repo_folder(cache: Path, repo_id: str) -> Path:
    return cache / ("models--" + repo_id.replace("/", "--"))


def cached_file(
    cache: Path, repo_id: str, filename: str, revision: str, size: int, sha256: str | None
) -> Path | None:
    """The cached copy of one Hub file at `revision`, if the cache holds that very file:
    the same size and, for an LFS file, a blob named by the Hub's sha256 (the cache names
    LFS blobs so). Any snapshot holding that blob under that name will do."""
    found = try_to_load_from_cache(repo_id, filename, cache_dir=cache, revision=revision)
    candidates = [Path(found)] if isinstance(found, str) else []
    if sha256 is not None:
        snapshots = repo_folder(cache, repo_id) / "snapshots"
        with contextlib.suppress(OSError):
            candidates += sorted(snapshots.glob(f"*/{filename}"))
    for path in candidates:
        try:
            blob = path.resolve(strict=True)
            if blob.stat().st_size != size:
                continue
        except (OSError, RuntimeError):
            continue
        if sha256 is None or blob.name == sha256:
            return path
    return None


def blob_path(cache: Path, repo_id: str, sha256: str) -> Path:
    return repo_folder(cache, repo_id) / "blobs" / sha256


def link_snapshot(cache: Path, repo_id: str, commit: str, filename: str, sha256: str) -> Path:
    """snapshots/<commit>/<filename> → the blob (a relative link, as the client makes
    it), and refs/main → commit when the repository has no ref yet. Returns the link."""
    folder = repo_folder(cache, repo_id)
    link = folder / "snapshots" / commit / filename
    link.parent.mkdir(parents=True, exist_ok=True)
    blob = blob_path(cache, repo_id, sha256)
    relative = os.path.relpath(blob, link.parent)
    with contextlib.suppress(FileNotFoundError):
        link.unlink()
    try:
        link.symlink_to(relative)
    except OSError:  # no symlinks (Windows without developer mode): the client copies too
        os.replace(blob, link)
    ref = folder / "refs" / "main"
    if not ref.exists():
        ref.parent.mkdir(parents=True, exist_ok=True)
        ref.write_text(commit, encoding="utf-8")
    return link


def remove_cached(cache: Path, files: tuple[Path, ...]) -> int:
    """Delete a cached model (its shards) through the client's cache strategies; returns
    the bytes freed. A snapshot that holds nothing else goes whole (delete_revisions:
    its folder and its refs too); otherwise only these entries go (delete_files). Either
    way a blob another snapshot links to stays."""
    try:
        info = scan_cache_dir(cache)
    except (CacheNotFound, CorruptedCacheException, OSError) as exc:
        raise PlaygroundError(f"the Hugging Face cache {cache} cannot be read: {exc}") from exc
    wanted = {_absolute(f) for f in files}
    chosen = []
    touched: dict[str, bool] = {}  # commit → whether the model is all its snapshot holds
    for repo in info.repos:
        for revision in repo.revisions:
            mine = [f for f in revision.files if _absolute(f.file_path) in wanted]
            if mine:
                chosen += mine
                touched[revision.commit_hash] = len(mine) == len(revision.files)
    if not chosen:
        raise PlaygroundError("the model is no longer in the Hugging Face cache")
    if all(touched.values()):
        strategy = info.delete_revisions(*touched)
    else:
        strategy = info.delete_files(*chosen)
    freed = int(strategy.expected_freed_size)
    strategy.execute()
    log.info("removed %d cached files, freed %d bytes", len(chosen), freed)
    return freed


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def llama_cache_dir() -> Path:
    """Where llama.cpp's own `-hf`/`--hf-repo` downloads go: LLAMA_CACHE, else its
    per-platform default."""
    override = os.environ.get("LLAMA_CACHE")
    if override:
        return Path(override)
    if os.name == "nt":
        return Path(os.environ.get("LOCALAPPDATA", Path.home())) / "llama.cpp"
    if os.uname().sysname == "Darwin":
        return Path.home() / "Library" / "Caches" / "llama.cpp"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llama.cpp"
