"""The Models tab's threads: Hub queries and the library on one, downloads on another.

Hub calls and GGUF header reads block for network round trips and disk; downloads run for
minutes. Neither may touch the UI thread. Downloads queue on their own thread (one at a
time, in the order asked) and each can be cancelled, queued or running.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import Signal, Slot

from app.core.errors import PlaygroundError
from app.core.gguf.quant_files import QuantGroup
from app.core.hub.downloader import (
    ChecksumMismatch,
    DownloadCancelled,
    Downloader,
    DownloadProgress,
    UnsafePath,
)
from app.core.hub.hub_client import HubClient
from app.core.hub.pending_downloads import forget, remember
from app.workers.worker_thread import Attempt, Worker, WorkerThread

log = logging.getLogger(__name__)


class HubWorker(Worker):
    """Runs one query at a time: `run(request_id, call)` answers with its result or error."""

    sig_done = Signal(int, object)
    """(request id, the call's result)."""
    sig_failed = Signal(int, str, str)
    """(request id, error kind such as "HubUnreachable", message)."""

    _sig_run = Signal(int, object)

    def __init__(self) -> None:
        super().__init__()
        self._sig_run.connect(self._run)

    def run(self, request_id: int, call: Callable[[], Any]) -> None:
        self._sig_run.emit(request_id, call)

    @Slot(int, object)
    def _run(self, request_id: int, call: Callable[[], Any]) -> None:
        def failed(message: str, error: Exception) -> None:
            kind = type(error).__name__ if isinstance(error, PlaygroundError) else "unexpected"
            self.sig_failed.emit(request_id, kind, message)

        with Attempt("the Hub request", failed):
            self.sig_done.emit(request_id, call())


@dataclass(frozen=True)
class DownloadJob:
    job_id: int
    repo_id: str
    group: QuantGroup
    revision: str
    endpoint: str
    into_hf_cache: bool = False  # kept in the Hugging Face cache, not the models folder

    @property
    def label(self) -> str:
        return f"{self.repo_id} · {self.group.quant}"


class DownloadWorker(Worker):
    sig_started = Signal(int)
    sig_progress = Signal(int, object)
    """(job id, DownloadProgress)."""
    sig_finished = Signal(int, object)
    """(job id, list of the downloaded files' paths, first shard first)."""
    sig_failed = Signal(int, str, bool)
    """(job id, message, whether the partial file was kept for resuming)."""
    sig_cancelled = Signal(int)

    _sig_download = Signal(object)

    def __init__(self, downloader_for: Callable[[str, bool], Downloader]) -> None:
        super().__init__()
        self._downloader_for = downloader_for
        self._cancels: dict[int, threading.Event] = {}
        self._lock = threading.Lock()
        self._sig_download.connect(self._download)

    def enqueue(self, job: DownloadJob) -> None:
        with self._lock:
            self._cancels[job.job_id] = threading.Event()
        self._sig_download.emit(job)

    def cancel_job(self, job_id: int) -> None:
        """Called from the UI thread; a queued job is dropped when its turn comes."""
        with self._lock:
            event = self._cancels.get(job_id)
        if event is not None:
            event.set()

    def stop(self) -> None:
        super().stop()
        with self._lock:
            for event in self._cancels.values():
                event.set()

    @Slot(object)
    def _download(self, job: DownloadJob) -> None:
        with self._lock:
            cancel = self._cancels.setdefault(job.job_id, threading.Event())

        def failed(message: str, error: Exception) -> None:
            if isinstance(error, DownloadCancelled):
                self.sig_cancelled.emit(job.job_id)
                return
            resumable = not isinstance(error, (ChecksumMismatch, UnsafePath))
            self.sig_failed.emit(job.job_id, message, resumable)

        try:
            if cancel.is_set():  # cancelled while it waited in the queue
                self.sig_cancelled.emit(job.job_id)
                return
            with Attempt("the download", failed):
                self.sig_started.emit(job.job_id)

                def progress(p: DownloadProgress) -> None:
                    self.sig_progress.emit(job.job_id, p)

                downloader = self._downloader_for(job.endpoint, job.into_hf_cache)
                models_dir = downloader.models_dir
                remember(models_dir, job.repo_id, job.revision, job.group, job.into_hf_cache)
                paths = downloader.download_group(
                    job.repo_id, job.group, job.revision, progress, cancel
                )
                forget(models_dir, job.repo_id, job.group)
                self.sig_finished.emit(job.job_id, [str(p) for p in paths])
        finally:
            with self._lock:
                self._cancels.pop(job.job_id, None)


def hub_threads(
    downloader_for: Callable[[str, bool], Downloader],
) -> tuple[WorkerThread[HubWorker], WorkerThread[DownloadWorker]]:
    return (
        WorkerThread(HubWorker(), "hub"),
        WorkerThread(DownloadWorker(downloader_for), "downloads"),
    )


def default_downloader(
    models_dir: Path, hf_cache: Path | None = None
) -> Callable[[str, bool], Downloader]:
    def make(endpoint: str, into_hf_cache: bool) -> Downloader:
        client = HubClient(endpoint or None)
        return Downloader(client, models_dir, hf_cache=hf_cache, into_hf_cache=into_hf_cache)

    return make
