"""The entropy / surprisal timeline as a live run fills it, batch by batch."""

from __future__ import annotations

import numpy as np
from pytestqt.qtbot import QtBot

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.decoding.step_records import TokenStep
from app.core.llama.engine import Engine
from app.core.runs.run_record import entropy_bits, surprisal_bits
from app.ui.widgets.timeline_view import TimelineView, axis_end


def _plotted(timeline: TimelineView) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    ex, ey = timeline._entropy.getData()
    sx, sy = timeline._surprisal.getData()
    return ex, ey, sx, sy


def test_streamed_batches_plot_every_step_once(
    qtbot: QtBot, engine: Engine, prompt_ids: list[int]
) -> None:
    steps: list[TokenStep] = []
    generate(
        engine,
        prompt_ids,
        DecodingSettings(mode="sample", temperature=1.3, seed=5, max_tokens=70),
        on_step=steps.append,
    )
    timeline = TimelineView()
    qtbot.addWidget(timeline)
    for start in range(0, len(steps), 9):  # the batches a live run delivers
        timeline.append_steps(steps[start : start + 9])

    ex, ey, sx, sy = _plotted(timeline)
    expected_x = np.arange(1, 71)
    assert np.array_equal(ex, expected_x) and np.array_equal(sx, expected_x)
    assert np.allclose(ey, [entropy_bits(s) for s in steps])
    assert np.allclose(sy, np.minimum([surprisal_bits(s) for s in steps], 64.0))
    x_range, y_range = timeline.getPlotItem().getViewBox().viewRange()
    assert x_range[1] >= 70.5 and axis_end(70) == 96
    assert y_range[1] >= max(sy.max(), ey.max())

    timeline.set_steps(steps[:10])  # a branch cuts the run: the dots after it go
    ex, ey, sx, sy = _plotted(timeline)
    assert len(ex) == len(sx) == 10
    assert np.allclose(sy, np.minimum([surprisal_bits(s) for s in steps[:10]], 64.0))


def test_step_axis_grows_by_halves_and_thirds() -> None:
    ends = [axis_end(n) for n in (0, 32, 33, 49, 65, 97, 129, 193, 1000)]
    assert ends == [32, 32, 48, 64, 96, 128, 192, 256, 1024]
