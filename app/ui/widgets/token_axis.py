"""The probability chart's left axis: one token label per bar, drawn directly.

pyqtgraph's AxisItem lays every label out through its generic tick machinery (spacing,
overlap checks, a QPicture recorded and replayed): about 2.4 ms of Python each time the
labels change, which for this axis is every step of a live run. These labels sit at the
whole-number rows of the bars, so drawing them is one text call each.
"""

from __future__ import annotations

import math
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF, QPainter

TEXT_GAP = 6.0  # px between a label and the axis line
MIN_LABEL = "262,144 others"  # the widest "others" label: the axis starts this wide


class TokenAxis(pg.AxisItem):  # type: ignore[misc]
    def __init__(self, font: QFont) -> None:
        super().__init__("left")
        self._font = font
        self._metrics = QFontMetricsF(font)
        self.labels: list[str] = []
        self._width = 0
        self._fit(MIN_LABEL)

    def set_labels(self, labels: list[str]) -> None:
        """Label row i (0 at the top bar) with labels[i]."""
        if labels == self.labels:
            return
        self.labels = list(labels)
        for label in labels:
            self._fit(label)
        self.update()

    def _fit(self, label: str) -> None:
        # The axis only grows: a narrower label never re-lays the plot out mid-run.
        needed = math.ceil(self._metrics.horizontalAdvance(label) + TEXT_GAP + 4)
        if needed > self._width:
            self._width = needed
            self.setWidth(needed)

    def paint(self, painter: QPainter, *_args: Any) -> None:
        area = self.mapRectFromParent(self.geometry())
        right = area.right()
        painter.setPen(self.pen())
        painter.drawLine(QPointF(right, area.top()), QPointF(right, area.bottom()))
        view = self.linkedView()
        if view is None or not self.labels:
            return

        def row_y(row: float) -> float:
            y: float = self.mapFromScene(view.mapViewToScene(QPointF(0.0, row))).y()
            return y

        top = row_y(0.0)
        pitch = row_y(1.0) - top
        height = self._metrics.height()
        painter.setFont(self._font)
        painter.setPen(self.textPen())
        align = int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        for row, label in enumerate(self.labels):
            y = top + row * pitch
            box = QRectF(area.left(), y - height / 2, right - TEXT_GAP - area.left(), height)
            painter.drawText(box, align, label)
