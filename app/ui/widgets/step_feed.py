"""A view's own feed of a run's steps: the queue the engine thread appends to, and the
timer that takes them on the UI thread.

Each view that runs the engine has its own queue, handed to the worker with each
request, so no tab's steps wait in another's. Steps of a superseded request are dropped
here. Why a queue and a timer rather than a signal per step: see workers/step_queue.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QTimer

from app.ui.widgets.update_pacer import UpdatePacer
from app.workers.step_queue import StepQueue

# Items are tuples whose first element is the request id they belong to.
Deliver = Callable[[list[tuple[Any, ...]]], None]


class StepFeed(QObject):
    def __init__(
        self,
        interval_ms: int,
        deliver: Deliver,
        pacer: UpdatePacer | None = None,
        parent: QObject | None = None,
    ) -> None:
        """`deliver` gets the current request's new items on every tick (an empty list
        too, so a view can show what it held back). With a `pacer`, ticks are skipped
        while it asks to wait, and the time `deliver` takes is what it paces."""
        super().__init__(parent)
        self.queue: StepQueue[tuple[Any, ...]] = StepQueue()
        self._deliver = deliver
        self._pacer = pacer
        self._request = -1
        self._timer = QTimer(self)
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._on_timer)

    def start(self, request_id: int) -> None:
        """Follow `request_id` from now on; anything queued for an older one is dropped."""
        self._request = request_id
        if self._pacer is not None:
            self._pacer.reset()
        self._timer.start()

    def follow(self, request_id: int) -> None:
        """Drop what is queued and what arrives for any other request (no polling)."""
        self._request = request_id
        self.queue.take_all()

    def take(self) -> list[tuple[Any, ...]]:
        return [item for item in self.queue.take_all() if item[0] == self._request]

    def deliver_now(self) -> None:
        """Deliver what has arrived, whatever the pacer says (a pane or run ended: the
        engine thread queues every step before it reports the end)."""
        self._deliver(self.take())

    def end(self) -> None:
        """The run ended: stop polling and deliver its last steps."""
        self._timer.stop()
        self.deliver_now()

    def _on_timer(self) -> None:
        if self._pacer is None:
            self._deliver(self.take())
        elif self._pacer.wait() <= 0:
            started = time.perf_counter()
            self._deliver(self.take())
            self._pacer.updated(time.perf_counter() - started)
