"""Resumable, verified downloads of Hub files into the models directory.

The Hub client restarts an interrupted file from zero and cannot be cancelled, so this
downloader does what llama.cpp and GPT4All do: a GET on the `resolve` URL with `Range`
continues a `.part` file from the byte already on disk (after a cancel, a dropped
connection or an app restart); the bytes are hashed as they arrive and the finished file
must match the Hub's LFS sha256 before it is renamed into place. A wrong file is removed;
a full disk keeps the partial file for later.
"""

from __future__ import annotations

import hashlib
import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import httpx2

from app.core.gguf.quant_files import HubFile, QuantGroup
from app.core.hub.download_parts import (
    PART_SUFFIX,
    ChecksumMismatch,
    DiskFull,
    DownloadCancelled,
    DownloadError,
    Retry,
    Speed,
    UnsafePath,
    Writeback,
    WrongStart,
    disk_space,
    insecure_redirect,
    safe_target,
)
from app.core.hub.hub_client import (
    FileNotOnHub,
    GatedRepo,
    HubClient,
    HubError,
    RepoNotFound,
    download_timeout,
    network_reason,
)
from app.core.library.file_hash import sha256_of
from app.core.library.hf_cache import (
    INCOMPLETE_SUFFIX,
    blob_path,
    cached_file,
    hf_cache_dir,
    link_snapshot,
)
from app.core.library.verified_stamp import read_stamp, write_stamp
from app.core.units import printable

log = logging.getLogger(__name__)
CHUNK = 1 << 20
WRITEBACK_EVERY = 32 << 20  # bytes written between background flushes to disk


@dataclass(frozen=True)
class DownloadProgress:
    file: str
    done: int  # bytes on disk for the whole job
    total: int
    speed: float  # bytes/s, smoothed
    file_index: int = 1
    file_count: int = 1
    note: str | None = None  # what is happening besides progress ("retrying in 4 s: …")

    @property
    def eta(self) -> float | None:
        if self.speed <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.speed)


ProgressHook = Callable[[DownloadProgress], None]


class Downloader:
    """Downloads one file or a group of shards; safe to call from a worker thread."""

    def __init__(
        self,
        client: HubClient,
        models_dir: Path,
        *,
        timeout: float | None = None,
        retries: int = 6,
        backoff: float = 1.0,
        hf_cache: Path | None = None,
        into_hf_cache: bool = False,
    ) -> None:
        self.client = client
        self.models_dir = models_dir
        # A file the Hugging Face cache already holds is used from there; with
        # `into_hf_cache`, new downloads go there too (other tools then see them).
        self.hf_cache = hf_cache if hf_cache is not None else hf_cache_dir()
        self.into_hf_cache = into_hf_cache
        self.timeout = timeout if timeout is not None else download_timeout()
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
                            p.file,
                            before + p.done,
                            total,
                            p.speed,
                            index,
                            len(group.files),
                            p.note,
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
        """The verified file: already in the Hugging Face cache, or in the models directory
        (downloaded, resumed or already there), or downloaded into the cache."""
        target = safe_target(self.models_dir, repo_id, file.path)
        cached = cached_file(self.hf_cache, repo_id, file.path, revision, file.size, file.sha256)
        if cached is not None:
            log.info("%s %s is in the Hugging Face cache: %s", repo_id, file.path, cached)
            return cached
        if self._already_here(target, repo_id, revision, file):
            return target
        self.client.check_online(f"download of {printable(file.path)}")
        if self.into_hf_cache and file.sha256 is not None:
            safe_target(self.hf_cache, repo_id, file.path)  # the same checks on the name
            target = blob_path(self.hf_cache, repo_id, file.sha256)
            part = target.with_name(target.name + INCOMPLETE_SUFFIX)
        else:
            part = target.with_name(target.name + PART_SUFFIX)
        target.parent.mkdir(parents=True, exist_ok=True)
        url = self.client.resolve_url(repo_id, file.path, revision)
        digest = self._fetch(url, part, repo_id, file, progress, cancel)
        what = printable(file.path)
        size = part.stat().st_size
        if file.size and size != file.size:
            part.unlink(missing_ok=True)
            raise DownloadError(
                f"{what}: received {size:,} bytes, the Hub lists {file.size:,}; "
                "the file was removed"
            )
        if file.sha256 is not None and digest != file.sha256:
            part.unlink(missing_ok=True)
            raise ChecksumMismatch(
                f"{what}: sha256 {digest[:12]}… does not match the Hub's "
                f"{file.sha256[:12]}…; the file was rejected and removed"
            )
        os.replace(part, target)
        if self.into_hf_cache and file.sha256 is not None:
            return link_snapshot(self.hf_cache, repo_id, revision, file.path, file.sha256)
        self._stamp(target, digest, repo_id, revision, file)
        return target

    def _already_here(self, target: Path, repo_id: str, revision: str, file: HubFile) -> bool:
        """Whether `target` is this file, verified: by its stamp, or (when the stamp could
        not be written, say on a full disk) by hashing it again rather than downloading."""
        stamp = read_stamp(target)
        if stamp is not None:
            return file.sha256 is None or stamp.get("sha256") == file.sha256
        try:
            size = target.stat().st_size
        except OSError:
            return False
        if file.sha256 is None or (file.size and size != file.size):
            return False
        if sha256_of(target) != file.sha256:
            return False
        self._stamp(target, file.sha256, repo_id, revision, file)
        return True

    @staticmethod
    def _stamp(target: Path, digest: str, repo_id: str, revision: str, file: HubFile) -> None:
        # A stamp that cannot be written (a full disk) costs one hash next time, not the file.
        try:
            write_stamp(target, digest, repo_id=repo_id, revision=revision, path=file.path)
        except OSError as exc:
            log.warning("could not record the verified %s: %s", target, exc)

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
        speed = Speed(offset)
        failures = 0
        last_report = 0.0
        what = printable(file.path)

        def say(note: str) -> None:
            log.info("download of %s: %s", file.path, note)
            if progress is not None:
                progress(DownloadProgress(file.path, offset, file.size, 0.0, note=note))

        while True:
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled(f"{what}: cancelled; the download resumes later")
            if file.size and offset >= file.size:
                return digest.hexdigest()
            headers = self.client.headers()
            # The bytes on disk must be the file's own: a compressed reply would not resume.
            headers["Accept-Encoding"] = "identity"
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
                    out: BinaryIO | None = None
                    sync: Writeback | None = None
                    try:
                        unsynced = 0
                        for block in response.iter_bytes():
                            if cancel is not None and cancel.is_set():
                                raise DownloadCancelled(
                                    f"{what}: cancelled; the download resumes later"
                                )
                            if out is None:  # no empty .part file for a reply with no body
                                with disk_space(part):
                                    out = part.open("r+b" if offset else "wb")
                                out.seek(offset)
                                sync = Writeback(out).__enter__()
                            with disk_space(part):
                                out.write(block)
                            digest.update(block)
                            offset += len(block)
                            unsynced += len(block)
                            progressed = True
                            if file.size and offset > file.size:
                                break
                            if unsynced >= WRITEBACK_EVERY and sync is not None:
                                with disk_space(part):
                                    out.flush()
                                sync.start()
                                unsynced = 0
                            now = time.monotonic()
                            if progress is not None and now - last_report >= 0.1:
                                last_report = now
                                rate = speed.add(now, offset)
                                progress(DownloadProgress(file.path, offset, file.size, rate))
                        if out is not None and sync is not None:
                            with disk_space(part):
                                out.flush()
                            sync.finish()
                            os.fsync(out.fileno())
                    finally:
                        if sync is not None:
                            sync.finish()
                        if out is not None:
                            out.close()
                if file.size and offset > file.size:
                    part.unlink(missing_ok=True)
                    raise DownloadError(
                        f"{what}: the server sent more than the {file.size:,} bytes the "
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
            except WrongStart as exc:
                failures += 1
                if failures > self.retries:
                    raise DownloadError(
                        f"{what}: the server keeps answering from the wrong byte; the "
                        "partial file was removed, the next try starts over"
                    ) from None
                part.unlink(missing_ok=True)
                offset, digest, speed = 0, hashlib.sha256(), Speed(0)
                say(
                    f"the server resumed at byte {exc.start} instead of {exc.wanted}; "
                    "starting the file over"
                )
            except httpx2.TooManyRedirects:
                raise DownloadError(
                    f"download of {what}: the Hub's address for it redirects in a loop; "
                    "the Hub (or a proxy in between) is misconfigured, retry later"
                ) from None
            except httpx2.DecodingError:
                raise DownloadError(
                    f"download of {what}: the server's reply says it is compressed, but it "
                    "is not; the bytes already on disk are kept, retry later"
                ) from None
            except (httpx2.TransportError, Retry) as exc:
                failures = 0 if progressed else failures + 1
                if failures > self.retries:
                    whole = f"download of {what}"
                    if isinstance(exc, Retry):
                        raise exc.error(whole) from None
                    raise self.client.unreachable(whole, exc) from exc
                delay = self._delay(failures, getattr(exc, "retry_after", None))
                answer = exc.answer() if isinstance(exc, Retry) else network_reason(exc)
                say(
                    f"{answer}; retrying in {delay:.0f} s (try {failures + 1} of "
                    f"{self.retries + 1})"
                )
                self._wait(delay, cancel)

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
        what = f"download of {printable(file.path)}"
        if status == 206:
            content_range = response.headers.get("Content-Range", "")
            if not content_range.startswith(f"bytes {offset}-"):
                start = content_range.removeprefix("bytes ").split("-")[0]
                raise WrongStart(offset, start if start.isdigit() else "?")
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
            raise Retry(
                status, response.reason_phrase, float(retry) if retry and retry.isdigit() else None
            )
        raise self.client.status_error(what, response)

    def _delay(self, failures: int, hint: float | None) -> float:
        return min(hint if hint is not None else self.backoff * 2 ** max(0, failures - 1), 30.0)

    @staticmethod
    def _wait(delay: float, cancel: threading.Event | None) -> None:
        if cancel is not None:
            cancel.wait(delay)
        else:
            time.sleep(delay)


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
