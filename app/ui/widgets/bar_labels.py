"""The value at the end of each bar of the probability chart, drawn by one item.

pyqtgraph's TextItem is a QGraphicsTextItem per label that re-lays itself out on each of
text, anchor, colour and position: about 2 ms for a top 10 on every step of a live run.
This item keeps the labels as plain data and draws them in one pass, at a fixed pixel
offset from each bar's end whatever the zoom.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pyqtgraph as pg
from PySide6.QtCore import QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QPainter

GAP_PX = 4.0  # between a bar's end and its label


@dataclass(frozen=True)
class BarLabel:
    x: float  # the bar's end (data coordinates)
    y: float  # the bar's centre
    text: str
    inside: bool  # drawn inside the bar's end (a long bar), else just past it


class BarValueLabels(pg.GraphicsObject):  # type: ignore[misc]
    def __init__(self, font: QFont) -> None:
        super().__init__()
        self._font = font
        self._metrics = QFontMetricsF(font)
        self.labels: list[BarLabel] = []
        self._outside_color = QColor("black")
        self._inside_color = QColor("white")

    def set_labels(self, labels: list[BarLabel], outside_color: QColor) -> None:
        if labels == self.labels and outside_color == self._outside_color:
            return
        self.labels = labels
        self._outside_color = QColor(outside_color)
        self.update()

    def boundingRect(self) -> QRectF:
        # Labels reach a fixed number of pixels past their bars: the whole view holds them.
        view = self.getViewBox()
        if view is None:
            return QRectF()
        rect: QRectF = view.viewRect()
        return rect

    def viewRangeChanged(self) -> None:
        self.prepareGeometryChange()
        super().viewRangeChanged()

    def paint(self, painter: QPainter, *_args: Any) -> None:
        if not self.labels:
            return
        to_device = painter.transform()
        painter.save()
        painter.resetTransform()
        painter.setFont(self._font)
        height = self._metrics.height()
        for label in self.labels:
            anchor = to_device.map(QPointF(label.x, label.y))
            width = self._metrics.horizontalAdvance(label.text) + 1
            left = anchor.x() - GAP_PX - width if label.inside else anchor.x() + GAP_PX
            painter.setPen(self._inside_color if label.inside else self._outside_color)
            painter.drawText(
                QRectF(left, anchor.y() - height / 2, width, height),
                int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter),
                label.text,
            )
        painter.restore()
