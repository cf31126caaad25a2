"""Workers that live on their own QThread, and the thread that owns one.

A worker receives requests through queued signals; `stop()` sets a flag its long loops
check (a queued "stop" would wait behind the work it means to interrupt).
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from PySide6.QtCore import QObject, QThread


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
