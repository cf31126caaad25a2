"""The engine's own thread: loads models and generates, reporting through signals.

The UI thread never calls llama.cpp. Cancelling sets a threading.Event that the decode
loop checks between decodes (a queued "stop" slot would not run while the worker is
busy). Every request carries an id so results of a superseded request are dropped.
"""

from __future__ import annotations

import threading
import traceback
from dataclasses import dataclass

from PySide6.QtCore import QObject, QThread, Signal, Slot

from app.core.decoding import DecodingSettings
from app.core.errors import PlaygroundError
from app.core.token_step import TokenStep

TOP_PIECES = 10


@dataclass(frozen=True)
class StepReport:
    """A step with what the view needs from the vocabulary, looked up on the worker."""

    step: TokenStep
    is_eog: bool
    pieces: dict[int, bytes]  # the top alternatives' pieces


@dataclass(frozen=True)
class ModelLoaded:
    name: str
    device: str
    n_ctx: int


class EngineWorker(QObject):
    sig_model_loaded = Signal(object)
    """A model finished loading (ModelLoaded)."""
    sig_model_failed = Signal(str)
    """A model could not be loaded: the reason, one line."""
    sig_step = Signal(int, object)
    """(request id, StepReport) for each generated token."""
    sig_finished = Signal(int, str, float)
    """(request id, stop reason, tokens per second) when a generation ends."""
    sig_failed = Signal(int, str)
    """(request id, message) when a generation fails."""

    _sig_load = Signal(str)
    _sig_generate = Signal(int, str, object)

    def __init__(self) -> None:
        super().__init__()
        self.cancel = threading.Event()
        self._engine: object = None
        self._sig_load.connect(self._load)
        self._sig_generate.connect(self._generate)

    # Called from the UI thread: queued into the worker thread.
    def load(self, spec: str) -> None:
        self._sig_load.emit(spec)

    def generate(self, request_id: int, prompt: str, settings: DecodingSettings) -> None:
        self.cancel.clear()
        self._sig_generate.emit(request_id, prompt, settings)

    def stop(self) -> None:
        self.cancel.set()

    @Slot(str)
    def _load(self, spec: str) -> None:
        from app.core.engine import Engine

        try:
            if self._engine is not None:
                self._engine.close()  # type: ignore[attr-defined]
                self._engine = None
            engine = Engine(spec)
        except PlaygroundError as exc:
            self.sig_model_failed.emit(str(exc))
            return
        except Exception as exc:  # a model must never take the window down
            traceback.print_exc()
            self.sig_model_failed.emit(f"unexpected error while loading: {exc}")
            return
        self._engine = engine
        self.sig_model_loaded.emit(
            ModelLoaded(engine.info.card.name, engine.info.describe_device(), engine.n_ctx)
        )

    @Slot(int, str, object)
    def _generate(self, request_id: int, prompt: str, settings: DecodingSettings) -> None:
        from app.core.engine import Engine
        from app.core.generation import GenerationStats, generate

        engine = self._engine
        if not isinstance(engine, Engine):
            self.sig_failed.emit(request_id, "no model is loaded")
            return
        stats = GenerationStats()
        try:
            ids = engine.tokenize_prompt(prompt)

            vocab = engine.vocab

            def on_step(step: TokenStep) -> None:
                pieces = {t.id: vocab.piece(t.id) for t in step.top(TOP_PIECES)}
                self.sig_step.emit(request_id, StepReport(step, vocab.is_eog(step.id), pieces))

            result = generate(
                engine, ids, settings, cancel=self.cancel, on_step=on_step, stats=stats
            )
        except PlaygroundError as exc:
            self.sig_failed.emit(request_id, str(exc))
            return
        self.sig_finished.emit(request_id, result.stop_reason or "", stats.tokens_per_second)

    def shutdown(self) -> None:
        if self._engine is not None:
            self._engine.close()  # type: ignore[attr-defined]
            self._engine = None


class EngineThread:
    """Owns the worker's QThread: start, and stop-quit-wait on close."""

    def __init__(self) -> None:
        self.thread = QThread()
        self.thread.setObjectName("engine")
        self.worker = EngineWorker()
        self.worker.moveToThread(self.thread)
        self.thread.start()

    def close(self) -> None:
        self.worker.stop()
        self.thread.quit()
        self.thread.wait()
        self.worker.shutdown()
