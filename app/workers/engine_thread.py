"""The engine's thread, and beside it the thread of the views inside the model, which
reads the same loaded model through contexts of its own."""

from __future__ import annotations

from app.workers.engine_worker import EngineWorker
from app.workers.inspection_worker import InspectionThread
from app.workers.worker_thread import WorkerThread


class EngineThread(WorkerThread[EngineWorker]):
    def __init__(self) -> None:
        super().__init__(EngineWorker(), "engine")
        self.inspection = InspectionThread(self.worker.inspection)

    def close(self) -> None:
        self.inspection.close()  # an inspection in progress ends before the model goes
        super().close()
