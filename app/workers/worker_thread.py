"""Workers that live on their own QThread, and the thread that owns one.

A worker receives requests through queued signals; `stop()` sets a flag its long loops
check (a queued "stop" would wait behind the work it means to interrupt). A failure is
reported, never raised out of a slot: `Attempt` turns it into the message a view shows.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from types import TracebackType
from typing import Generic, TypeVar

from PySide6.QtCore import QObject, QThread

from app.core.errors import PlaygroundError

log = logging.getLogger(__name__)


class Attempt:
    """`with Attempt("loading the model", report) as attempt: ...`, then `attempt.failed`.

    A PlaygroundError is reported in its own words (it was written for the user);
    anything else is a bug: logged with its traceback and reported as "<what> failed
    unexpectedly: ...". Either way the worker, its thread and what it holds stay usable.
    `report` gets the message and the exception (some views tell failures apart).
    """

    def __init__(self, what: str, report: Callable[[str, Exception], None]) -> None:
        self.what = what
        self._report = report
        self.failed = False

    def __enter__(self) -> Attempt:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> bool:
        if not isinstance(error, Exception):  # no failure, or KeyboardInterrupt/SystemExit
            return False
        self.failed = True
        if isinstance(error, PlaygroundError):
            message = str(error)
        else:
            log.error("unexpected error in a worker (%s)", self.what, exc_info=error)
            message = f"{self.what} failed unexpectedly: {error}"
        self._report(message, error)
        return True


class Worker(QObject):
    def __init__(self) -> None:
        super().__init__()
        self.cancel = threading.Event()

    def stop(self) -> None:
        """Ask the running request to end (called from the UI thread)."""
        self.cancel.set()

    def shutdown(self) -> None:
        """Free what the worker holds, once its thread has ended."""


W = TypeVar("W", bound=Worker)


class WorkerThread(Generic[W]):
    """Starts `worker` on a new thread; `close()` stops it, ends the thread, shuts it down."""

    def __init__(self, worker: W, name: str) -> None:
        self.thread = QThread()
        self.thread.setObjectName(name)
        self.worker = worker
        worker.moveToThread(self.thread)
        self.thread.start()

    def close(self) -> None:
        self.worker.stop()
        self.thread.quit()
        self.thread.wait()
        self.worker.shutdown()
