"""Tokens per second of a model on this computer, measured on demand with a short greedy
run on a thread of its own (the model loaded there for the run, then freed)."""

from __future__ import annotations

import time
from pathlib import Path

from PySide6.QtCore import Signal, Slot

from app.workers.worker_thread import Attempt, Worker, WorkerThread

PROMPT = "The history of the printing press begins"
TOKENS = 32


class SpeedWorker(Worker):
    sig_measured = Signal(str, float)
    """(model path, tokens per second)."""
    sig_failed = Signal(str, str)

    _sig_measure = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._sig_measure.connect(self._measure)

    def measure(self, path: Path) -> None:
        self._sig_measure.emit(str(path))

    @Slot(str)
    def _measure(self, path: str) -> None:
        from app.core.decoding.decoding_settings import DecodingSettings
        from app.core.decoding.generation import generate
        from app.core.llama.engine import Engine

        with Attempt("measuring the speed", lambda m, _e: self.sig_failed.emit(path, m)):
            with Engine(path) as engine:
                ids = engine.tokenize_prompt(PROMPT)
                generate(engine, ids, DecodingSettings(mode="greedy", max_tokens=4))  # warm
                start = time.perf_counter()
                steps = generate(engine, ids, DecodingSettings(mode="greedy", max_tokens=TOKENS))
                seconds = time.perf_counter() - start
            self.sig_measured.emit(path, len(steps.steps) / seconds)


class SpeedThread(WorkerThread[SpeedWorker]):
    def __init__(self) -> None:
        super().__init__(SpeedWorker(), "speed")
