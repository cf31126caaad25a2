"""Pacing a view whose updates cost more as it grows.

The token text re-lays out its whole paragraph on every update, so a long paragraph
costs more each time (about 0.5 ms per update at 300 tokens, 3 ms at 1,500 here). On a
machine whose cores all decode, that time comes out of the decode: the pacer keeps the
view's share of the time under `budget` by spacing its updates out as they get dearer.
"""

from __future__ import annotations

import time
from collections.abc import Callable

# The share of the time a running generation's text may take (its updates and the paints
# they cause), in the Workspace and in Compare.
TEXT_BUDGET = 0.04


class UpdatePacer:
    """Updates at most every `min_interval` seconds, and no more often than keeps their
    cost (as measured, times `cost_factor` for the work they cause later, such as the
    paint) under `budget` of the time."""

    def __init__(
        self,
        min_interval: float,
        budget: float,
        cost_factor: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_interval = min_interval
        self.interval = min_interval
        self._budget = budget
        self._factor = cost_factor
        self._clock = clock
        self._last = -float("inf")

    def reset(self) -> None:
        self.interval = self.min_interval
        self._last = -float("inf")

    def wait(self) -> float:
        """Seconds until the next update may run (0: now)."""
        return max(0.0, self._last + self.interval - self._clock())

    def updated(self, cost: float) -> None:
        """An update ran now and took `cost` seconds."""
        self._last = self._clock()
        self.interval = max(self.min_interval, cost * self._factor / self._budget)
