"""The Side by side tab's thread: tokens per second of a model on this computer,
measured on demand with a short greedy run (the model loaded there for the run, then
freed), and a Hub repository's facts looked up."""

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

    sig_found = Signal(object)
    """(ModelFacts) of a Hub repository."""
    sig_lookup_failed = Signal(str)

    _sig_measure = Signal(str)
    _sig_lookup = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self._sig_measure.connect(self._measure)
        self._sig_lookup.connect(self._lookup)

    def lookup(self, repo_id: str) -> None:
        self._sig_lookup.emit(repo_id)

    @Slot(str)
    def _lookup(self, repo_id: str) -> None:
        from app.core.gguf.quant_files import group_files
        from app.core.hub.hub_client import HubClient
        from app.core.library.model_facts import hub_facts

        with Attempt("asking the Hub", lambda m, _e: self.sig_lookup_failed.emit(m)):
            details = HubClient().repo(repo_id.strip())
            groups = group_files(details.files)
            best = groups[0] if groups else None
            updated = details.last_modified.date().isoformat() if details.last_modified else None
            self.sig_found.emit(
                hub_facts(
                    details.repo_id,
                    details.license,
                    updated,
                    best.quant if best else None,
                    best.size if best else 0,
                )
            )

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
