"""A run's steps reach the UI thread through the requesting view's own queue: complete, in
order, all of them before the run's end is signalled, and none in another view's queue."""

from __future__ import annotations

import threading
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from pytestqt.qtbot import QtBot

from app.core.decoding.decoding_settings import DecodingSettings
from app.workers.engine_requests import GenerationRequest, ModelLoaded, RunFinished
from app.workers.engine_thread import EngineThread
from app.workers.step_queue import StepQueue
from app.workers.step_reports import StepReport


def test_items_put_on_another_thread_are_taken_once_in_order() -> None:
    queue: StepQueue[int] = StepQueue()
    taken: list[int] = []

    def produce() -> None:
        for i in range(20_000):
            queue.put(i)

    producer = threading.Thread(target=produce)
    producer.start()
    while producer.is_alive():
        taken.extend(queue.take_all())
    producer.join()
    taken.extend(queue.take_all())
    assert taken == list(range(20_000))
    assert queue.take_all() == []


class _View(QObject):
    """Receives the worker's signals on the UI thread, as a tab does (queued across the
    threads); waiting on the worker's own signals would run the wait's timer on its
    thread."""

    loaded = Signal(object)
    finished = Signal(int, object)


def test_worker_queues_every_step_before_the_result(qtbot: QtBot, model_path: Path) -> None:
    thread = EngineThread()
    worker = thread.worker
    view = _View()
    worker.sig_model_loaded.connect(view.loaded)
    worker.sig_finished.connect(view.finished)
    try:
        with qtbot.waitSignal(view.loaded, timeout=90_000) as loaded:
            worker.load(str(model_path))
        assert isinstance(loaded.args[0], ModelLoaded)
        mine: StepQueue[tuple[int, StepReport]] = StepQueue()
        other: StepQueue[tuple[int, StepReport]] = StepQueue()
        queued_at_finish: list[tuple[int, StepReport]] = []
        view.finished.connect(lambda rid, finished: queued_at_finish.extend(mine.take_all()))
        settings = DecodingSettings(mode="greedy", max_tokens=40)
        with qtbot.waitSignal(view.finished, timeout=60_000) as done:
            worker.generate(GenerationRequest(7, "The capital of France is", settings, steps=mine))

        assert done.args is not None and done.args[0] == 7
        finished = done.args[1]
        assert isinstance(finished, RunFinished) and finished.reason == "max_tokens"
        assert [rid for rid, _report in queued_at_finish] == [7] * 40
        steps = [report.step for _rid, report in queued_at_finish]
        assert [s.index for s in steps] == list(range(40))
        assert mine.take_all() == [] and other.take_all() == []
        assert not any(s.ends_generation for s in steps)
    finally:
        thread.close()
