"""A run's steps, from the engine thread to the UI thread, without a signal per step.

A Qt signal emitted on the engine thread lets go of the GIL inside `emit` and has to
win it back from the UI thread: measured here, 6 µs typically but 0.1 ms on average and
up to 10 ms when the UI thread is busy, all of it on the decode loop's critical path.
Appending to a list keeps the GIL. The views take what has arrived on their own refresh
timer while a run is going, and once more when its end is signalled (the engine thread
puts every step before it signals the end).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class StepQueue(Generic[T]):
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: list[T] = []

    def put(self, item: T) -> None:
        with self._lock:
            self._items.append(item)

    def take_all(self) -> list[T]:
        """Everything put since the last call, in order."""
        with self._lock:
            items, self._items = self._items, []
        return items


def sender(queue: StepQueue[Any] | None, *head: int) -> Callable[[Any], None]:
    """What puts a report into the requesting view's queue, after `head` (the request id,
    and a compare run's pane); a view that asked for no steps gets none."""
    if queue is None:
        return lambda _item: None
    return lambda item: queue.put((*head, item))
