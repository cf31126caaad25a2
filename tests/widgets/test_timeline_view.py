"""The entropy / surprisal timeline on its own, fed a recorded run: one point per step at
the step's entropy and surprisal, the selected and hovered steps marked by lines, and a
click or hover on the plot naming the step under the pointer."""

from __future__ import annotations

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from pytestqt.qtbot import QtBot
from recorded_steps import reference_entropy_bits, reference_surprisal_bits

from app.core.runs.run_record import RunRecord
from app.ui.widgets.timeline_view import TimelineView


@pytest.fixture
def timeline(qtbot: QtBot) -> TimelineView:
    widget = TimelineView()
    qtbot.addWidget(widget)
    widget.resize(720, 300)
    widget.show()
    return widget


def plotted(timeline: TimelineView) -> tuple[list[float], list[float], list[float], list[float]]:
    """(x, y) of the entropy curve and of the surprisal points, as drawn."""
    items = timeline.getPlotItem().listDataItems()
    curve = next(i for i in items if isinstance(i, pg.PlotDataItem) and i.name() == "entropy")
    points = next(i for i in items if isinstance(i, pg.ScatterPlotItem))
    ex, ey = curve.getData()
    sx, sy = points.getData()
    return list(ex), list(ey), list(sx), list(sy)


def step_lines(timeline: TimelineView) -> list[float]:
    """Where the visible step markers (selected, hovered) are, in steps from 1."""
    lines = [i for i in timeline.getPlotItem().items if isinstance(i, pg.InfiniteLine)]
    return sorted(line.value() for line in lines if line.isVisible())


def point_at_step(timeline: TimelineView, index: int) -> QPoint:
    """A viewport point over step `index` (counted from 0), halfway up the plot."""
    view = timeline.getPlotItem().getViewBox()
    (_x0, _x1), (y0, y1) = view.viewRange()
    scene = view.mapViewToScene(QPointF(index + 1, (y0 + y1) / 2))
    return QPointF(timeline.mapFromScene(scene)).toPoint()


def test_one_point_per_step_at_its_entropy_and_surprisal(
    timeline: TimelineView, sampled_run: RunRecord
) -> None:
    steps = sampled_run.steps
    # A live run's batches, then the whole run at once: the same points either way.
    timeline.append_steps(steps[:7])
    timeline.append_steps(steps[7:])
    streamed = plotted(timeline)
    timeline.set_steps(steps)
    ex, ey, sx, sy = plotted(timeline)
    assert (ex, ey, sx, sy) == streamed

    numbers = [float(n) for n in range(1, len(steps) + 1)]
    assert ex == numbers and sx == numbers
    for step, entropy, surprisal in zip(steps, ey, sy, strict=True):
        assert entropy == pytest.approx(reference_entropy_bits(step.distribution), abs=2e-3)
        expected = reference_surprisal_bits(step.distribution, step.id)
        assert surprisal == pytest.approx(expected, abs=2e-3)
    # Every point is inside the plot.
    (x0, x1), (y0, y1) = timeline.getPlotItem().getViewBox().viewRange()
    assert x0 < 1 and x1 > len(steps)
    assert y0 <= 0 and y1 > max(max(ey), max(sy))

    timeline.set_steps(steps[:5])  # a branch cut the run after step 5
    ex, _ey, sx, _sy = plotted(timeline)
    assert ex == sx == numbers[:5]


def test_the_selected_and_hovered_steps_are_marked(
    timeline: TimelineView, greedy_run: RunRecord
) -> None:
    timeline.set_steps(greedy_run.steps)
    assert step_lines(timeline) == []
    timeline.select_step(3)
    assert step_lines(timeline) == [4.0]
    timeline.select_step(15)  # the selection moves
    assert step_lines(timeline) == [16.0]
    timeline.hover_step(2)
    assert step_lines(timeline) == [3.0, 16.0]
    timeline.hover_step(-1)
    timeline.select_step(-1)
    assert step_lines(timeline) == []


# QTest reports that the plot left the press unaccepted: pyqtgraph's scene reads the
# click and lets the event go on to the parent, as it does in the window.
@pytest.mark.qt_log_ignore(r"Mouse event \"Mouse(Press|Release)\" not accepted")
def test_hovering_and_clicking_a_step_on_the_plot(
    qtbot: QtBot, timeline: TimelineView, greedy_run: RunRecord
) -> None:
    timeline.set_steps(greedy_run.steps)
    with qtbot.waitSignal(timeline.step_hovered, timeout=1000) as hovered:
        qtbot.mouseMove(timeline.viewport(), point_at_step(timeline, 6))
    assert hovered.args == [6]
    assert step_lines(timeline) == [7.0]
    entropy = reference_entropy_bits(greedy_run.steps[6].distribution)
    assert timeline.toolTip().startswith(f"step 7: entropy {entropy:.2f} bits, surprisal ")

    with qtbot.waitSignal(timeline.step_clicked, timeout=1000) as clicked:
        qtbot.mouseClick(
            timeline.viewport(), Qt.MouseButton.LeftButton, pos=point_at_step(timeline, 12)
        )
    assert clicked.args == [12]
    # Past the last step there is nothing to click.
    with qtbot.assertNotEmitted(timeline.step_clicked):
        beyond = point_at_step(timeline, len(greedy_run.steps) + 3)
        qtbot.mouseClick(timeline.viewport(), Qt.MouseButton.LeftButton, pos=beyond)
