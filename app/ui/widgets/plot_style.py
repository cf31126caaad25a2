"""Shared set-up for the app's pyqtgraph plots: quiet, fixed, and cheap to repaint."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QGuiApplication, QPalette
from PySide6.QtWidgets import QGraphicsItem

PLOT_PROPERTY = "themed_plot"


def apply_plot_palette(plot: pg.PlotWidget) -> None:
    """Background, axes and their text in the palette's colours (live: theme.refresh_all)."""
    palette = QGuiApplication.palette()
    plot.setBackground(palette.color(QPalette.ColorRole.Window))
    text = palette.color(QPalette.ColorRole.WindowText)
    item = plot.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        axis = item.getAxis(name)
        axis.setPen(pg.mkPen(palette.color(QPalette.ColorRole.Mid)))
        axis.setTextPen(pg.mkPen(text))


def make_static(plot: pg.PlotWidget) -> None:
    """No mouse panning or context menu; axes cached as pixmaps.

    Axis text is the costly part of a software repaint (~4 ms an axis here); with a
    device-coordinate cache an axis re-renders only when its ticks or range change, and
    a repaint of the data (new bars, a new point) just copies its pixmap.
    """
    # Opaque: a transparent plot makes every repaint of it repaint the widgets behind it
    # too, up to the main window.
    plot.setProperty(PLOT_PROPERTY, True)
    apply_plot_palette(plot)
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    item = plot.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)


def small_plot(height: int, name: str, left: str, bottom: str) -> pg.PlotWidget:
    """A static plot of a fixed height, its axes labelled, named for screen readers."""
    plot = pg.PlotWidget()
    make_static(plot)
    plot.setFixedHeight(height)
    plot.setAccessibleName(name)
    item = plot.getPlotItem()
    item.setLabel("left", left)
    item.setLabel("bottom", bottom)
    return plot
