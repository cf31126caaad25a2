"""Shared set-up for the app's pyqtgraph plots: quiet, fixed, and cheap to repaint."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import QGraphicsItem


def make_static(plot: pg.PlotWidget) -> None:
    """No mouse panning or context menu; axes cached as pixmaps.

    Axis text is the costly part of a software repaint (~4 ms an axis here); with a
    device-coordinate cache an axis re-renders only when its ticks or range change, and
    a repaint of the data (new bars, a new point) just copies its pixmap.
    """
    # Opaque: a transparent plot makes every repaint of it repaint the widgets behind it
    # too, up to the main window.
    plot.setBackground(plot.palette().color(QPalette.ColorRole.Window))
    plot.setMenuEnabled(False)
    plot.setMouseEnabled(x=False, y=False)
    plot.hideButtons()
    item = plot.getPlotItem()
    for name in ("left", "bottom", "right", "top"):
        item.getAxis(name).setCacheMode(QGraphicsItem.CacheMode.DeviceCoordinateCache)
