"""Resumable, verified downloads of Hub files into the models directory.

The Hub client restarts an interrupted file from zero and cannot be cancelled, so this
downloader does what llama.cpp and GPT4All do: a GET on the `resolve` URL with `Range`
continues a `.part` file from the byte already on disk (after a cancel, a dropped
connection or an app restart); the bytes are hashed as they arrive and the finished file
must match the Hub's LFS sha256 before it is renamed into place. A wrong file is removed;
a full disk keeps the partial file for later.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from app.core.errors import PlaygroundError
from app.core.gguf.quant_files import HubFile, QuantGroup
from app.core.hub.hub_client import (
    FileNotOnHub,
    GatedRepo,
    HubClient,
    HubError,
    HubServerError,
    RateLimited,
    RepoNotFound,
)
from app.core.library.verified_stamp import read_stamp, write_stamp

import httpx2  # isort: skip  (after hub_client, which configures the client first)

CHUNK = 1 << 20
WRITEBACK_EVERY = 32 << 20  # bytes written between background flushes to disk
PART_SUFFIX = ".part"


class DownloadError(PlaygroundError):
    pass


class DownloadCancelled(DownloadError):
    pass


class ChecksumMismatch(DownloadError):
    pass


class DiskFull(DownloadError):
    pass


class UnsafePath(DownloadError):
    pass


@dataclass(frozen=True)
class DownloadProgress:
    file: str
    done: int  # bytes on disk for the whole job
    total: int
    speed: float  # bytes/s, smoothed
    file_index: int = 1
    file_count: int = 1

    @property
    def eta(self) -> float | None:
        if self.speed <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.speed)


ProgressHook = Callable[[DownloadProgress], None]


def _safe_part(part: str, what: str) -> str:
    if not part or part in (".", "..") or "\\" in part or ":" in part or "\x00" in part:
        raise UnsafePath(f"refused {what} {part!r}: it could write outside the models folder")
    return part


def safe_target(models_dir: Path, repo_id: str, filename: str) -> Path:
    """models_dir/owner/name/filename, refusing anything that could leave models_dir."""
    if filename.startswith("/") or PurePosixPath(filename).is_absolute():
        raise UnsafePath(f"refused file name {filename!r}: an absolute path")
    repo_parts = repo_id.split("/")
    if len(repo_parts) != 2:
        raise UnsafePath(f"refused repository id {repo_id!r}: expected owner/name")
    parts = [_safe_part(p, "repository id") for p in repo_parts]
    parts += [_safe_part(p, "file name") for p in filename.split("/")]
    root = models_dir.resolve()
    target = root.joinpath(*parts)
    if not target.resolve().is_relative_to(root):
        raise UnsafePath(f"refused file name {filename!r}: it leaves the models folder")
    return target


def insecure_redirect(requested: str, final: str) -> None:
    """Refuse an https download that was redirected to plain http (a token or the file
    could be read or changed on the way)."""
    if requested.startswith("https://") and not final.startswith("https://"):
        raise DownloadError(
            f"refused a redirect from {requested.split('/')[2]} to an insecure address "
            f"({final.split('?')[0]})"
        )


@contextlib.contextmanager
def _disk_space(part: Path) -> Iterator[None]:
    """A full disk while writing `part` becomes DiskFull (the partial file is kept)."""
    try:
        yield
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise DiskFull(
                f"{part.name.removesuffix(PART_SUFFIX)}: the disk is full "
                f"({part.parent}); the partial file is kept and the download resumes "
                "once space is freed"
            ) from exc
        raise


class _Writeback:
    """Writes a growing file's data to disk on a helper thread while the download goes
    on, so that the fsync before the rename finds little left: without it, a 253 MB
    file waited 0.3 s at the end here, a quarter of the whole download."""

    def __init__(self, out: BinaryIO) -> None:
        self._fd = out.fileno()
        self._wanted = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="writeback", daemon=True)

    def __enter__(self) -> _Writeback:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.finish()

    def start(self) -> None:
        """Begin writing what was flushed so far (returns at once)."""
        self._wanted.set()

    def finish(self) -> None:
        if not self._done:
            self._done = True
            self._wanted.set()
            self._thread.join()

    def _run(self) -> None:
        sync = getattr(os, "fdatasync", os.fsync)  # macOS has no fdatasync
        while True:
            self._wanted.wait()
            self._wanted.clear()
            if self._done:
                return
            try:
                sync(self._fd)
            except OSError:
                return  # the final fsync in the downloading thread reports it


class _Speed:
    """Bytes per second over the last few seconds."""

    def __init__(self, start: int) -> None:
        self.samples: list[tuple[float, int]] = [(time.monotonic(), start)]

    def add(self, now: float, done: int) -> float:
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > 3.0:
            self.samples.pop(0)
        t0, d0 = self.samples[0]
        return (done - d0) / (now - t0) if now > t0 else 0.0


class Downloader:
    """Downloads one file or a group of shards; safe to call from a worker thread."""

    def __init__(
        self,
        client: HubClient,
        models_dir: Path,
        *,
        timeout: float = 30.0,
        retries: int = 6,
        backoff: float = 1.0,
    ) -> None:
        self.client = client
        self.models_dir = models_dir
        self.timeout = timeout
        self.retries = retries
        self.backoff = backoff

    def download_group(
        self,
        repo_id: str,
        group: QuantGroup,
        revision: str = "main",
        progress: ProgressHook | None = None,
        cancel: threading.Event | None = None,
    ) -> list[Path]:
        """Every shard of one model, in order; returns their paths (first shard first)."""
        if not group.complete:
            raise DownloadError(
                f"{group.label}: the repository lists {len(group.files)} of "
                f"{group.shards_expected} parts; it cannot be loaded"
            )
        total = group.size
        before = 0
        paths = []
        for index, file in enumerate(group.files, start=1):

            def hook(p: DownloadProgress, before: int = before, index: int = index) -> None:
                if progress is not None:
                    progress(
                        DownloadProgress(
                            p.file, before + p.done, total, p.speed, index, len(group.files)
                        )
                    )

            paths.append(self.download(repo_id, file, revision, hook, cancel))
            before += file.size
        return paths

    def download(
        self,
        repo_id: str,
        file: HubFile,
        revision: str = "main",
        progress: ProgressHook | None = None,
        cancel: threading.Event | None = None,
    ) -> Path:
        """The verified file in the models directory (downloaded, resumed or already there)."""
        target = safe_target(self.models_dir, repo_id, file.path)
        stamp = read_stamp(target)
        if stamp is not None and (file.sha256 is None or stamp.get("sha256") == file.sha256):
            return target
        self.client.check_online(f"download of {file.path}")
        target.parent.mkdir(parents=True, exist_ok=True)
        part = target.with_name(target.name + PART_SUFFIX)
        url = self.client.resolve_url(repo_id, file.path, revision)
        digest = self._fetch(url, part, repo_id, file, progress, cancel)
        size = part.stat().st_size
        if file.size and size != file.size:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{file.path}: received {size:,} bytes, the Hub lists {file.size:,}; "
                "the file was removed"
            )
        if file.sha256 is not None and digest != file.sha256:
            part.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"{file.path}: sha256 {digest[:12]}… does not match the Hub's "
                f"{file.sha256[:12]}…; the file was rejected and removed"
            )
        os.replace(part, target)
        write_stamp(target, digest, repo_id=repo_id, revision=revision, path=file.path)
        return target

    # ---- transfer ---------------------------------------------------------------------
    def _fetch(
        self,
        url: str,
        part: Path,
        repo_id: str,
        file: HubFile,
        progress: ProgressHook | None,
        cancel: threading.Event | None,
    ) -> str:
        digest = hashlib.sha256()
        offset = self._resume_offset(part, file.size, digest)
        speed = _Speed(offset)
        failures = 0
        last_report = 0.0
        while True:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(f"{file.path}: cancelled; the download resumes later")
            if file.size and offset >= file.size:
                return digest.hexdigest()
            headers = self.client.headers()
            if offset:
                headers["Range"] = f"bytes={offset}-"
            progressed = False
            try:
                with httpx2.stream(
                    "GET",
                    url,
                    headers=headers,
                    timeout=httpx2.Timeout(self.timeout, connect=min(self.timeout, 15.0)),
                    follow_redirects=True,
                ) as response:
                    insecure_redirect(url, str(response.url))
                    restart = self._check_response(response, offset, repo_id, file)
                    if restart:
                        offset = 0
                        digest = hashlib.sha256()
                    if response.status_code == 416:
                        return digest.hexdigest()
                    with part.open("r+b" if offset else "wb") as out, _Writeback(out) as sync:
                        out.seek(offset)
                        unsynced = 0
                        for block in response.iter_bytes():
                            if cancel is not None and cancel.is_set():
                                raise DownloadCancelled(
                                    f"{file.path}: cancelled; the download resumes later"
                                )
                            with _disk_space(part):
                                out.write(block)
                            digest.update(block)
                            offset += len(block)
                            unsynced += len(block)
                            progressed = True
                            if file.size and offset > file.size:
                                break
                            if unsynced >= WRITEBACK_EVERY:
                                with _disk_space(part):
                                    out.flush()
                                sync.start()
                                unsynced = 0
                            now = time.monotonic()
                            if progress is not None and now - last_report >= 0.1:
                                last_report = now
                                rate = speed.add(now, offset)
                                progress(DownloadProgress(file.path, offset, file.size, rate))
                        with _disk_space(part):
                            out.flush()
                        sync.finish()
                        os.fsync(out.fileno())
                if file.size and offset > file.size:
                    part.unlink(missing_ok=True)
                    raise DownloadError(
                        f"{file.path}: the server sent more than the {file.size:,} bytes the "
                        "Hub lists; the file was removed"
                    )
                if progress is not None:
                    progress(
                        DownloadProgress(
                            file.path, offset, file.size, speed.add(time.monotonic(), offset)
                        )
                    )
                if not file.size:
                    return digest.hexdigest()
                if offset < file.size:
                    raise httpx2.RemoteProtocolError("the connection ended early")
            except (httpx2.TransportError, _Retry) as exc:
                failures = 0 if progressed else failures + 1
                if failures > self.retries:
                    what = f"download of {file.path}"
                    if isinstance(exc, _Retry):
                        raise exc.error(what) from None
                    raise self.client.unreachable(what, exc) from exc
                self._sleep(failures, cancel, getattr(exc, "retry_after", None))

    def _resume_offset(self, part: Path, size: int, digest: hashlib._Hash) -> int:
        """Bytes already in the .part file, hashed so the final sha256 covers them."""
        try:
            have = part.stat().st_size
        except FileNotFoundError:
            return 0
        if size and have > size:
            part.unlink()
            return 0
        with part.open("rb") as fh:
            remaining = have
            while remaining > 0 and (block := fh.read(min(remaining, CHUNK * 8))):
                digest.update(block)
                remaining -= len(block)
        return have

    def _check_response(
        self, response: httpx2.Response, offset: int, repo_id: str, file: HubFile
    ) -> bool:
        """Raise for errors; True when the server ignored Range and sends the whole file."""
        status = response.status_code
        what = f"download of {file.path}"
        if status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                raise DownloadError(f"{file.path}: the server resumed at the wrong byte")
            return False
        if status == 200:
            return offset > 0
        if status == 416 and offset and offset == file.size:
            return False
        response.read()
        code = response.headers.get("X-Error-Code", "")
        if code == "GatedRepo" or (status == 403 and "gated" in response.text.lower()):
            raise GatedRepo(self.client.gated_message(repo_id))
        if code == "RepoNotFound" or status == 401:
            raise RepoNotFound(f"{what}: no such repository on the Hub (or it is private)")
        if status == 404:
            raise FileNotOnHub(f"{what}: the file is not on the Hub")
        if status == 429 or status >= 500:
            retry = response.headers.get("Retry-After")
            raise _Retry(status, float(retry) if retry and retry.isdigit() else None)
        raise self.client.status_error(what, response)

    def _sleep(self, failures: int, cancel: threading.Event | None, hint: float | None) -> None:
        delay = min(hint if hint is not None else self.backoff * 2 ** max(0, failures - 1), 30.0)
        if cancel is not None:
            cancel.wait(delay)
        else:
            time.sleep(delay)


class _Retry(Exception):
    """A reply worth retrying (429, 5xx)."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after

    def error(self, what: str) -> HubError:
        if self.status == 429:
            return RateLimited(f"{what}: the Hub kept rate-limiting requests; retry later")
        return HubServerError(f"{what}: the Hub kept failing ({self.status}); retry later")


__all__ = [
    "ChecksumMismatch",
    "DiskFull",
    "DownloadCancelled",
    "DownloadError",
    "DownloadProgress",
    "Downloader",
    "HubError",
    "UnsafePath",
    "safe_target",
]
