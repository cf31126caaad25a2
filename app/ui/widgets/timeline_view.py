"""Per-token entropy and surprisal over the run, linked to the text by hover and click."""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QPointF, Signal
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QWidget

from app.core.decoding.step_records import TokenStep
from app.core.decoding.top_n_distribution import TopNDistribution
from app.core.runs.run_record import entropy_bits, surprisal_bits
from app.ui.widgets import palette
from app.ui.widgets.plot_style import make_static

X_MIN = 32  # steps shown before the run needs more
Y_CHUNK = 4  # bits
SURPRISAL_CLIP = 64.0  # bits: a token with p = 0 at the shown temperature is infinite


def axis_end(steps: int) -> int:
    """The step axis's end for a run of `steps`: 32, 48, 64, 96, 128, 192, ... A live
    run's points fill between two thirds and all of the width, and the axis (whose
    re-render costs two repaints) changes only a few times per doubling of the run."""
    end = X_MIN
    while end < steps:
        end = end * 3 // 2 if end & (end - 1) == 0 else end * 4 // 3
    return end


HEADROOM = 1.3


class TimelineView(pg.PlotWidget):  # type: ignore[misc]
    """Entropy (how unsure the model was) and surprisal (−log2 p of the chosen token)."""

    step_clicked = Signal(int)
    step_hovered = Signal(int)

    def refresh_theme(self) -> None:
        """The legend's backdrop and text in the palette's colours (theme.refresh_all)."""
        palette = QGuiApplication.palette()
        backdrop = palette.color(QPalette.ColorRole.Window)
        backdrop.setAlpha(200)
        self._legend.setBrush(pg.mkBrush(backdrop))
        self._legend.setLabelTextColor(palette.color(QPalette.ColorRole.WindowText))
        for _sample, label in self._legend.items:  # labels drawn already: render them again
            label.setText(label.text)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        make_static(self)
        item = self.getPlotItem()
        item.setLabel("left", "bits")
        item.setLabel("bottom", "step")
        item.showGrid(x=False, y=True, alpha=0.15)
        legend = item.addLegend(offset=(8, 4), labelTextSize="8pt")
        self._legend = legend
        self._estimated = False  # a server's steps: the entropy is estimated from its top N
        self.refresh_theme()
        self._entropy = item.plot(
            [],
            [],
            pen=pg.mkPen(palette.ENTROPY_PEN, width=2),
            name="entropy",
        )
        # A scatter item of its own (not a plot() data item), so a live run adds its new
        # points instead of rebuilding every point of the run on each refresh.
        self._surprisal = pg.ScatterPlotItem(
            size=5, brush=pg.mkBrush(palette.SURPRISAL_PEN), pen=None, symbol="o"
        )
        item.addItem(self._surprisal)
        legend.addItem(self._surprisal, "surprisal")
        legend.setColumnCount(2)  # one row: it sits in the headroom above the data
        self._hover_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(palette.HOVERED, width=1))
        self._selected_line = pg.InfiniteLine(angle=90, pen=pg.mkPen(palette.SELECTED, width=2))
        for line in (self._hover_line, self._selected_line):
            line.setVisible(False)
            item.addItem(line, ignoreBounds=True)
        self.entropy: list[float] = []
        self.surprisal: list[float] = []
        self._hovered = -1
        self._plotted = 0  # surprisal points already on the scatter
        self._peak = 1.0  # the highest value plotted (bits)
        self._ranges = (0, 0)
        self.getPlotItem().disableAutoRange()
        self._refresh()  # the empty chart already shows whole steps and bits
        self.scene().sigMouseMoved.connect(self._on_move)
        self.scene().sigMouseClicked.connect(self._on_click)

    def _note_source(self, steps: list[TokenStep]) -> None:
        if not steps:
            return
        estimated = isinstance(steps[0].distribution, TopNDistribution)
        if estimated != self._estimated:
            self._estimated = estimated
            label = self._legend.getLabel(self._entropy)
            label.setText("entropy (estimated)" if estimated else "entropy", size="8pt")

    @property
    def entropy_label(self) -> str:
        """The entropy curve's name in the legend."""
        return str(self._legend.getLabel(self._entropy).text)

    def set_steps(self, steps: list[TokenStep]) -> None:
        self._note_source(steps)
        self.entropy = [entropy_bits(s) for s in steps]
        self.surprisal = [surprisal_bits(s) for s in steps]
        self._surprisal.clear()
        self._plotted = 0
        self._peak = 1.0
        self._refresh()

    def append_steps(self, steps: list[TokenStep]) -> None:
        self._note_source(steps)
        self.entropy.extend(entropy_bits(s) for s in steps)
        self.surprisal.extend(surprisal_bits(s) for s in steps)
        self._refresh()

    def _refresh(self) -> None:
        steps = len(self.entropy)
        entropy = np.array(self.entropy)
        self._entropy.setData(np.arange(1, steps + 1, dtype=float), entropy)
        new = np.minimum(np.array(self.surprisal[self._plotted :]), SURPRISAL_CLIP)
        if new.size:
            self._surprisal.addPoints(x=np.arange(self._plotted + 1, steps + 1, dtype=float), y=new)
            self._peak = max(self._peak, float(new.max()), float(entropy[self._plotted :].max()))
            self._plotted = steps
        x_end = axis_end(steps)
        # Headroom above the highest point, for the legend's row and so no peak touches
        # the top edge.
        y_end = max(Y_CHUNK, math.ceil(self._peak * HEADROOM / Y_CHUNK) * Y_CHUNK)
        if (x_end, y_end) != self._ranges:
            self._ranges = (x_end, y_end)
            item = self.getPlotItem()
            item.setRange(xRange=(0.5, x_end + 0.5), yRange=(0, y_end), padding=0)
            # Apply the new range now: left to the paint, it moves the data items during
            # that paint and they ask for a second one.
            item.getViewBox().updateMatrix()

    def select_step(self, index: int) -> None:
        self._selected_line.setVisible(index >= 0)
        if index >= 0:
            self._selected_line.setValue(index + 1)

    def hover_step(self, index: int) -> None:
        self._hovered = index
        self._hover_line.setVisible(index >= 0)
        if index >= 0:
            self._hover_line.setValue(index + 1)

    def _index_at(self, scene_pos: QPointF) -> int:
        vb = self.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(scene_pos) or not self.entropy:
            return -1
        index = round(vb.mapSceneToView(scene_pos).x()) - 1
        return index if 0 <= index < len(self.entropy) else -1

    def _on_move(self, scene_pos: QPointF) -> None:
        index = self._index_at(scene_pos)
        if index != self._hovered:
            self.hover_step(index)
            self.step_hovered.emit(index)
            if index >= 0:
                self.setToolTip(
                    f"step {index + 1}: entropy {'≈ ' if self._estimated else ''}"
                    f"{self.entropy[index]:.2f} bits, "
                    f"surprisal {self.surprisal[index]:.2f} bits"
                )

    def _on_click(self, event: object) -> None:
        index = self._index_at(event.scenePos())  # type: ignore[attr-defined]
        if index >= 0:
            self.step_clicked.emit(index)
