"""A run's steps cross to the UI thread in batches on a fast stream, one by one on a slow
one, always complete and in order, and before the run's result."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.decoding import DecodingSettings
from app.workers.engine_worker import (
    EngineThread,
    GenerationRequest,
    ModelLoaded,
    RunFinished,
)
from app.workers.step_batches import StepBatcher
from app.workers.step_reports import StepReport


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_fast_items_are_coalesced_and_slow_ones_sent_at_once() -> None:
    clock = FakeClock()
    sent: list[list[int]] = []
    batches = StepBatcher[int](sent.append, interval=0.05, clock=clock)
    batches.add(0)  # the first token is shown at once
    for i in range(1, 10):  # a token every 12 ms
        clock.now += 0.012
        batches.add(i)
    assert sent[0] == [0]
    assert all(len(b) > 1 for b in sent[1:])
    batches.flush()  # the run ended: nothing is left behind
    assert [i for b in sent for i in b] == list(range(10))
    count = len(sent)
    for i in range(10, 13):  # a slow stream: a token every 200 ms
        clock.now += 0.2
        batches.add(i)
    assert sent[count:] == [[10], [11], [12]]
    batches.flush()
    assert len(sent) == count + 3  # nothing pending, nothing sent twice


def test_worker_delivers_every_step_in_order_before_the_result(
    qtbot: QtBot, model_path: Path
) -> None:
    thread = EngineThread()
    worker = thread.worker
    try:
        with qtbot.waitSignal(worker.sig_model_loaded, timeout=90_000) as loaded:
            worker.load(str(model_path))
        assert isinstance(loaded.args[0], ModelLoaded)
        batches: list[tuple[int, list[StepReport]]] = []
        order: list[str] = []
        worker.sig_steps.connect(
            lambda rid, reports: (batches.append((rid, reports)), order.append("steps"))
        )
        worker.sig_finished.connect(lambda rid, finished: order.append("finished"))
        prompt = "The capital of France is"
        settings = DecodingSettings(mode="greedy", max_tokens=40)
        with qtbot.waitSignal(worker.sig_finished, timeout=60_000) as done:
            worker.generate(GenerationRequest(7, prompt, settings))

        assert done.args is not None and done.args[0] == 7
        finished = done.args[1]
        assert isinstance(finished, RunFinished) and finished.reason == "max_tokens"
        assert order[-1] == "finished" and order.count("finished") == 1
        reports = [report for rid, batch in batches for report in batch if rid == 7]
        assert all(batch for _rid, batch in batches)
        assert [r.step.index for r in reports] == list(range(40))
        assert len(batches[0][1]) == 1  # the first token is shown at once
    finally:
        thread.close()
