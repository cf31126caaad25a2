"""The views inside the model on a thread of their own: the logit lens and the attention
weights are computed here, from inspection contexts on the loaded model, while the
engine thread goes on generating (the two share only the model's weights, which llama.cpp
never changes once loaded).

The engine thread owns the model: before it frees one it closes the inspector, which
waits for an inspection in progress (InspectorSlot).
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from dataclasses import dataclass

from PySide6.QtCore import Signal, Slot

from app.core.llama.graph_capture import InspectionError
from app.workers.worker_thread import Attempt, Worker, WorkerThread

INSPECTION_NICE = 10
_FOR_SERVER = (
    "the views inside the model read a model loaded on this computer (llama.cpp's graph), "
    "not one on a server"
)


class InspectorSlot:
    """The loaded model's inspector, made on first use and closed before the model goes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engine: object = None
        self._inspector: object = None

    def set_engine(self, engine: object) -> None:
        with self._lock:
            if self._inspector is not None:
                self._inspector.close()  # type: ignore[attr-defined]
            self._engine, self._inspector = engine, None

    def forget(self) -> None:
        """The engine was lost inside llama.cpp: drop the inspector without touching it."""
        with self._lock:
            self._engine = self._inspector = None

    def get(self) -> object:
        from app.core.inside.model_inspector import ModelInspector
        from app.core.llama.engine import Engine

        with self._lock:
            if self._inspector is None:
                if self._engine is None:
                    raise InspectionError("no model is loaded")
                if not isinstance(self._engine, Engine):
                    raise InspectionError(_FOR_SERVER)
                if self._engine.config.rpc_workers:
                    raise InspectionError(
                        "the views inside the model are not available while RPC workers hold layers"
                    )
                self._inspector = ModelInspector(self._engine)
            return self._inspector


@dataclass(frozen=True)
class InspectionRequest:
    request_id: int
    kind: str  # "lens" or "attention"
    prompt: str  # tokenized as the Workspace's runs tokenize it
    generated: tuple[int, ...]  # the tokens generated before the step looked at
    chosen: int | None = None  # the token the model went on with there (lens)


class InspectionWorker(Worker):
    sig_lens = Signal(int, object)
    """(request id, Lens)."""
    sig_attention = Signal(int, object)
    """(request id, AttentionMaps)."""
    sig_failed = Signal(int, str)
    """(request id, message)."""

    _sig_run = Signal(object)

    def __init__(self, slot: InspectorSlot) -> None:
        super().__init__()
        self._slot = slot
        self._latest = 0
        self._sig_run.connect(self._run)

    def inspect(self, request: InspectionRequest) -> None:
        """Queue `request`; one asked for meanwhile makes it stale (it is skipped)."""
        self._latest = request.request_id
        self._sig_run.emit(request)

    @Slot(object)
    def _run(self, request: InspectionRequest) -> None:
        if request.request_id != self._latest:
            return  # the user has moved on to another step
        _yield_to_the_stream()
        rid = request.request_id
        with Attempt("looking inside the model", lambda m, _e: self.sig_failed.emit(rid, m)):
            from app.core.inside.model_inspector import ModelInspector

            inspector = self._slot.get()
            assert isinstance(inspector, ModelInspector)
            ids = inspector.engine.tokenize_prompt(request.prompt) + list(request.generated)
            if request.kind == "lens":
                from app.core.inside.logit_lens import logit_lens

                self.sig_lens.emit(rid, logit_lens(inspector, ids, None, request.chosen))
            else:
                from app.core.inside.attention_maps import attention_maps

                self.sig_attention.emit(rid, attention_maps(inspector, ids))


def _yield_to_the_stream() -> None:
    """Run this thread (and the compute threads it starts, which inherit it) at a lower
    priority than the engine's, so a stream in progress keeps the cores first. Linux
    applies a nice value per thread; elsewhere this does nothing."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), INSPECTION_NICE)


class InspectionThread(WorkerThread[InspectionWorker]):
    def __init__(self, slot: InspectorSlot) -> None:
        super().__init__(InspectionWorker(slot), "inspection")
