"""Where a sampled step's uniform draw landed: the survivors of the truncation chain laid
end to end as their cumulative probability, the draw u as a red line on it."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtGui import QColor
from PySide6.QtWidgets import QLabel, QVBoxLayout, QWidget

from app.core.decoding.step_records import TokenStep
from app.ui.widgets import palette
from app.ui.widgets.plot_style import make_static
from app.ui.widgets.token_text import visible_piece

DRAW_SEGMENTS = 64  # survivors drawn one by one; the rest in blocks


def draw_segments(
    probs: npt.NDArray[np.float64], chosen: int
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], list[QColor]]:
    """(starts, widths, colours) of the strip: the first survivors one by one, the rest
    (with top-k off, the whole vocabulary: 262,144 bars took a second to draw) in grey
    blocks around the chosen token, so the cumulative order stays as drawn."""
    cumulative = np.concatenate(([0.0], np.cumsum(probs)))
    shown = min(probs.size, DRAW_SEGMENTS)
    starts = list(cumulative[:shown])
    widths = list(probs[:shown])
    colors = [
        palette.CHOSEN if i == chosen else (palette.BAR if i % 2 == 0 else palette.BAR.lighter(125))
        for i in range(shown)
    ]
    blocks = [(shown, probs.size)]
    if chosen >= shown:
        blocks = [(shown, chosen), (chosen, chosen + 1), (chosen + 1, probs.size)]
    for first, end in blocks:
        if end <= first:
            continue
        starts.append(float(cumulative[first]))
        widths.append(float(cumulative[end] - cumulative[first]))
        colors.append(palette.CHOSEN if first == chosen and end == chosen + 1 else palette.OTHERS)
    return np.array(starts), np.array(widths), colors


class DrawStrip(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.plot = pg.PlotWidget()
        make_static(self.plot)
        self.plot.setFixedHeight(64)
        item = self.plot.getPlotItem()
        item.hideAxis("left")
        item.setLabel("bottom", "cumulative probability of the survivors")
        item.setXRange(0, 1, padding=0.01)
        item.setYRange(-0.5, 0.5, padding=0)
        self._bars = pg.BarGraphItem(x0=[], y=[], height=0.8, width=[])
        self._line = pg.InfiniteLine(angle=90, pen=pg.mkPen(palette.DRAW_LINE, width=2))
        self.plot.addItem(self._bars)
        self.plot.addItem(self._line)
        self.caption = QLabel()
        self.caption.setWordWrap(True)
        self.caption.setFixedHeight(self.caption.fontMetrics().lineSpacing() * 2 + 4)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.caption)
        layout.addWidget(self.plot)

    def show_step(self, step: TokenStep) -> bool:
        """Draw `step`'s draw; False (and nothing drawn) for a step that was not sampled."""
        sample = step.sample
        if sample is None:
            return False
        probs = sample.survivor_probs
        starts, widths, colors = draw_segments(probs, sample.chosen_index)
        self._bars.setOpts(
            x0=starts,
            y=np.zeros(starts.size),
            width=widths,
            brushes=[pg.mkBrush(c) for c in colors],
            pens=[pg.mkPen("#ffffff") for _ in colors],
        )
        self._line.setValue(sample.uniform)
        self.caption.setText(
            f"The draw: u = {sample.uniform:.4f} lands on “{visible_piece(step.piece)}” among "
            f"{probs.size:,} survivor{'s' if probs.size != 1 else ''}, renormalised at "
            f"T = {sample.temperature:.2f}"
        )
        return True
