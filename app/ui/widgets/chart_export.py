"""The probability chart as an image for slides and coursework: the plot itself with its
title (no spin boxes), as a PNG at twice the screen's resolution or as SVG."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtSvg import QSvgGenerator

from app.ui.widgets.probability_chart import ProbabilityChart

PNG_SCALE = 2
TITLE_MARGIN = 8


def _title_height(chart: ProbabilityChart) -> int:
    """The title's height when wrapped to the plot's width."""
    width = chart.plot.width() - 2 * TITLE_MARGIN
    flags = int(Qt.AlignmentFlag.AlignLeft | Qt.TextFlag.TextWordWrap)
    text = chart.fontMetrics().boundingRect(QRect(0, 0, width, 10_000), flags, chart.title.text())
    return text.height() + TITLE_MARGIN * 2


def _paint(chart: ProbabilityChart, painter: QPainter, size: QSize) -> None:
    painter.fillRect(QRect(QPoint(0, 0), size), QColor("white"))
    title_h = _title_height(chart)
    painter.setPen(QColor("black"))
    painter.setFont(chart.font())
    painter.drawText(
        QRect(TITLE_MARGIN, TITLE_MARGIN, size.width() - 2 * TITLE_MARGIN, title_h),
        int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap),
        chart.title.text(),
    )
    plot = chart.plot  # a QGraphicsView: the axes and bars are all in its scene
    target = QRectF(0, title_h, plot.width(), plot.height())
    plot.render(painter, target, plot.viewport().rect())


def export_size(chart: ProbabilityChart) -> QSize:
    """The exported picture's size in logical pixels: the plot plus the title above it."""
    plot = chart.plot.size()
    return QSize(plot.width(), plot.height() + _title_height(chart))


def export_png(chart: ProbabilityChart, path: Path) -> bool:
    size = export_size(chart)
    image = QImage(size * PNG_SCALE, QImage.Format.Format_ARGB32)
    image.setDevicePixelRatio(PNG_SCALE)
    painter = QPainter(image)
    try:
        _paint(chart, painter, size)
    finally:
        painter.end()
    return bool(image.save(str(path), "PNG"))  # type: ignore[call-overload]


def export_svg(chart: ProbabilityChart, path: Path) -> bool:
    size = export_size(chart)
    generator = QSvgGenerator()
    generator.setFileName(str(path))
    generator.setSize(size)
    generator.setViewBox(QRect(QPoint(0, 0), size))
    generator.setTitle("Next-token probabilities")
    painter = QPainter()
    if not painter.begin(generator):
        return False
    try:
        _paint(chart, painter, size)
    finally:
        painter.end()
    return path.is_file() and path.stat().st_size > 0
