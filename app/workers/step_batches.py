"""Coalescing a run's steps on the engine thread before they cross to the UI thread.

A fast model makes a token every 10–15 ms. Sent one by one, each wakes the UI thread
and takes the GIL from the decode loop; sent in batches of at most one per
`STEP_BATCH_S`, the UI wakes about 20 times a second and shows each batch as it comes.
A slow stream (a token every `STEP_BATCH_S` or more) still sends every token at once.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Generic, TypeVar

STEP_BATCH_S = 0.05

T = TypeVar("T")


class StepBatcher(Generic[T]):
    """Collects items and hands them to `send` as one list at most every `interval`
    seconds; the first item, and the first after a pause, goes at once. `flush` sends
    what is left (at the end of a run, before its result)."""

    def __init__(
        self,
        send: Callable[[list[T]], None],
        interval: float = STEP_BATCH_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._send = send
        self._interval = interval
        self._clock = clock
        self._pending: list[T] = []
        self._last = -float("inf")

    def add(self, item: T) -> None:
        self._pending.append(item)
        now = self._clock()
        if now - self._last >= self._interval:
            self._emit(now)

    def flush(self) -> None:
        if self._pending:
            self._emit(self._clock())

    def _emit(self, now: float) -> None:
        batch, self._pending = self._pending, []
        self._last = now
        self._send(batch)
