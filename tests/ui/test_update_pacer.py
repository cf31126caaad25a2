"""The text's updates are spaced out as they get dearer, and follow at once when cheap."""

from __future__ import annotations

import pytest

from app.ui.widgets.update_pacer import UpdatePacer


class FakeClock:
    def __init__(self) -> None:
        self.now = 10.0

    def __call__(self) -> float:
        return self.now


def test_cheap_updates_follow_every_min_interval() -> None:
    clock = FakeClock()
    pacer = UpdatePacer(0.05, budget=0.04, cost_factor=2.0, clock=clock)
    assert pacer.wait() == 0  # the first update runs at once
    pacer.updated(0.0005)  # 0.5 ms: 1 ms with its paint is 2% of 50 ms
    assert pacer.interval == 0.05
    clock.now += 0.02
    assert pacer.wait() == pytest.approx(0.03)
    clock.now += 0.05
    assert pacer.wait() == 0


def test_dear_updates_are_spaced_to_stay_within_the_budget() -> None:
    clock = FakeClock()
    pacer = UpdatePacer(0.05, budget=0.04, cost_factor=2.0, clock=clock)
    pacer.updated(0.003)  # a long paragraph: 3 ms, 6 ms with its paint
    assert pacer.interval == pytest.approx(0.15)  # 6 ms in 150 ms is 4%
    assert pacer.wait() == pytest.approx(0.15)
    pacer.reset()  # a new run starts with a short text
    assert pacer.wait() == 0 and pacer.interval == 0.05
