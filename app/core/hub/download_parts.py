"""The pieces of a download that are not the loop itself: its errors, the checks on
names and redirects, the disk-full guard, background write-back, the speed estimate, and
the replies worth retrying or restarting from."""

from __future__ import annotations

import contextlib
import errno
import os
import threading
import time
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import BinaryIO

from app.core.errors import PlaygroundError
from app.core.hub.hub_client import HubError, HubServerError, RateLimited
from app.core.units import printable

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


# A name beside the file gets at most this suffix (".verified.json"); most file systems
# allow 255 bytes per name.
LONGEST_SUFFIX = len(".verified.json")
NAME_MAX = 255


def _safe_part(part: str, what: str) -> str:
    if not part or part in (".", "..") or "\\" in part or ":" in part or "\x00" in part:
        raise UnsafePath(
            f"refused {what} {printable(part)}: it could write outside the models folder"
        )
    if len(part.encode("utf-8")) + LONGEST_SUFFIX > NAME_MAX:
        raise UnsafePath(
            f"refused {what} {printable(part[:40])}… ({len(part)} characters): longer than "
            f"a file name may be here ({NAME_MAX - LONGEST_SUFFIX} bytes at most)"
        )
    return part


def safe_target(models_dir: Path, repo_id: str, filename: str) -> Path:
    """models_dir/owner/name/filename, refusing anything that could leave models_dir."""
    if filename.startswith("/") or PurePosixPath(filename).is_absolute():
        raise UnsafePath(f"refused file name {printable(filename)}: an absolute path")
    repo_parts = repo_id.split("/")
    if len(repo_parts) != 2:
        raise UnsafePath(f"refused repository id {printable(repo_id)}: expected owner/name")
    parts = [_safe_part(p, "repository id") for p in repo_parts]
    parts += [_safe_part(p, "file name") for p in filename.split("/")]
    root = models_dir.resolve()
    target = root.joinpath(*parts)
    if not target.resolve().is_relative_to(root):
        raise UnsafePath(f"refused file name {printable(filename)}: it leaves the models folder")
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
def disk_space(part: Path) -> Iterator[None]:
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


class Writeback:
    """Writes a growing file's data to disk on a helper thread while the download goes
    on, so that the fsync before the rename finds little left: without it, a 253 MB
    file waited 0.3 s at the end here, a quarter of the whole download."""

    def __init__(self, out: BinaryIO) -> None:
        self._fd = out.fileno()
        self._wanted = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._run, name="writeback", daemon=True)

    def __enter__(self) -> Writeback:
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


class Speed:
    """Bytes per second over the last few seconds."""

    def __init__(self, start: int) -> None:
        self.samples: list[tuple[float, int]] = [(time.monotonic(), start)]

    def add(self, now: float, done: int) -> float:
        self.samples.append((now, done))
        while len(self.samples) > 2 and now - self.samples[0][0] > 3.0:
            self.samples.pop(0)
        t0, d0 = self.samples[0]
        return (done - d0) / (now - t0) if now > t0 else 0.0


class Retry(Exception):
    """A reply worth retrying (429, 5xx)."""

    def __init__(self, status: int, reason: str, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.reason = reason
        self.retry_after = retry_after

    def answer(self) -> str:
        return f"the Hub answered {self.status} {printable(self.reason)}".rstrip()

    def error(self, what: str) -> HubError:
        if self.status == 429:
            return RateLimited(
                f"{what}: the Hub kept rate-limiting requests ({self.answer()} every time); "
                "retry later"
            )
        return HubServerError(
            f"{what}: the Hub answered but kept failing ({self.answer()} every time); retry later"
        )


class WrongStart(Exception):
    """A reply to a Range request that starts elsewhere than the bytes on disk end."""

    def __init__(self, wanted: int, start: str) -> None:
        super().__init__(f"resumed at {start}, not {wanted}")
        self.wanted = wanted
        self.start = start
