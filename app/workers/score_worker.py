"""Scoring texts on a thread of its own, with engines of its own (the model files are
memory-mapped, so a second engine on the loaded model's file shares its pages): the
Score tab never waits for a generation, and a generation never waits for a score."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal, Slot

from app.core.errors import PromptError
from app.workers.worker_thread import Attempt, Worker, WorkerThread

KEEP_ENGINES = 2  # two models side by side


@dataclass(frozen=True)
class ScoreRequest:
    request_id: int
    pane: int  # 0: the left column, 1: the right one
    model: Path
    text: str


class ScoreWorker(Worker):
    sig_scored = Signal(int, int, object)
    """(request id, pane, TextScore)."""
    sig_progress = Signal(int, int, int, int)
    """(request id, pane, tokens scored, tokens in all)."""
    sig_failed = Signal(int, int, str)
    """(request id, pane, message)."""

    _sig_score = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._engines: OrderedDict[Path, object] = OrderedDict()
        self._sig_score.connect(self._score)

    def score(self, request: ScoreRequest) -> None:
        self.cancel.clear()
        self._sig_score.emit(request)

    def _engine(self, path: Path) -> object:
        from app.core.llama.engine import Engine

        engine = self._engines.pop(path, None) or Engine(path)
        self._engines[path] = engine
        while len(self._engines) > KEEP_ENGINES:
            _old, oldest = self._engines.popitem(last=False)
            oldest.close()  # type: ignore[attr-defined]
        return engine

    @Slot(object)
    def _score(self, request: ScoreRequest) -> None:
        from app.core.decoding.text_score import score_ids
        from app.core.llama.engine import Engine

        rid, pane = request.request_id, request.pane

        def failed(message: str, _error: Exception) -> None:
            self.sig_failed.emit(rid, pane, message)

        def progress(done: int, total: int) -> bool:
            self.sig_progress.emit(rid, pane, done, total)
            return not self.cancel.is_set()

        with Attempt("scoring the text", failed):
            engine = self._engine(request.model)
            assert isinstance(engine, Engine)
            if not request.text:
                raise PromptError("the text is empty")
            ids = engine.tokenize_prompt(request.text)
            n_bytes = len(request.text.encode("utf-8"))
            self.sig_scored.emit(rid, pane, score_ids(engine, ids, n_bytes, progress=progress))

    def shutdown(self) -> None:
        for engine in self._engines.values():
            engine.close()  # type: ignore[attr-defined]
        self._engines.clear()


class ScoreThread(WorkerThread[ScoreWorker]):
    def __init__(self) -> None:
        super().__init__(ScoreWorker(), "score")
