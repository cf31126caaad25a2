"""Chosen vs rejected on a thread of its own: the base and the instruct model are loaded
one after the other there (only one in memory at a time), never on the engine's thread."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal, Slot

from app.workers.worker_thread import Attempt, Worker, WorkerThread


@dataclass(frozen=True)
class PreferenceRequest:
    request_id: int
    base: str
    instruct: str
    prompt: str
    chosen: str
    rejected: str
    beta: float


class PreferenceWorker(Worker):
    sig_done = Signal(int, object)
    """(request id, Preference)."""
    sig_failed = Signal(int, str)

    _sig_run = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._sig_run.connect(self._run)

    def compare(self, request: PreferenceRequest) -> None:
        self._sig_run.emit(request)

    @Slot(object)
    def _run(self, request: PreferenceRequest) -> None:
        from app.core.decoding.preference import compare_answers
        from app.core.llama.engine import Engine

        rid = request.request_id
        with Attempt("comparing the answers", lambda m, _e: self.sig_failed.emit(rid, m)):
            result = compare_answers(
                Engine,
                request.base,
                request.instruct,
                request.prompt,
                (request.chosen, request.rejected),
                request.beta,
            )
            self.sig_done.emit(rid, result)


class PreferenceThread(WorkerThread[PreferenceWorker]):
    def __init__(self) -> None:
        super().__init__(PreferenceWorker(), "preference")
