"""Every control of every tab has a name a screen reader can say, the probability a
colour shows is also said in words, and every view follows a dark palette, live."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pyqtgraph as pg
import pytest
from PySide6.QtGui import QAccessible, QColor, QPalette
from PySide6.QtWidgets import (
    QAbstractButton,
    QAbstractItemView,
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QComboBox,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QScrollBar,
    QTextEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.core.decoding.decoding_settings import DecodingSettings
from app.ui.main_window import MainWindow
from app.ui.widgets.plot_style import PLOT_PROPERTY
from app.ui.widgets.theme import STATUS_COLORS, set_status_style, watch_theme

CONTROLS = (
    QAbstractButton,
    QComboBox,
    QAbstractSpinBox,
    QLineEdit,
    QPlainTextEdit,
    QTextEdit,
    QAbstractSlider,
    QAbstractItemView,
)


def _spoken_name(widget: QWidget) -> str:
    interface = QAccessible.queryAccessibleInterface(widget)
    return interface.text(QAccessible.Text.Name) if interface is not None else ""


def test_every_control_of_every_tab_has_a_spoken_name(
    qtbot: QtBot, workspace: Callable[[], MainWindow], run_tokens: Callable[[MainWindow, int], None]
) -> None:
    window = workspace()
    run_tokens(window, 3)
    window.compare.add_pane(DecodingSettings())
    unnamed = []
    for index in range(window.tabs.count()):
        window.tabs.setCurrentIndex(index)
        for widget in window.tabs.widget(index).findChildren(QWidget):
            if not isinstance(widget, CONTROLS) or isinstance(widget, QScrollBar | QHeaderView):
                continue
            if widget.objectName().startswith("qt_") or widget.window() is not window:
                continue  # a spin box's own line edit, a combo box's pop-up list
            name = _spoken_name(widget)
            if not any(c.isalpha() for c in name):  # "◀" or "✕" is read as a symbol
                unnamed.append(f"{window.tabs.tabText(index)}: {type(widget).__name__} {name!r}")
    assert unnamed == []
    assert _spoken_name(window.run_label)  # painted text, still read out


def test_a_selected_tokens_probability_is_said_not_only_coloured(
    qtbot: QtBot, workspace: Callable[[], MainWindow], run_tokens: Callable[[MainWindow, int], None]
) -> None:
    window = workspace()
    window.workspace.color_mode.setCurrentIndex(1)  # coloured by p
    run_tokens(window, 3)
    view = window.workspace.stream_view
    view.select_step(1)
    description = view.accessibleDescription()
    step = view.steps[1]
    assert "p = " in description and f"rank {step.rank + 1}" in description
    assert "<" not in description  # words, not markup


@pytest.fixture
def dark(qapp: QApplication) -> Iterator[QPalette]:
    light = QPalette(qapp.palette())
    palette = QPalette(light)
    for role, colour in (
        (QPalette.ColorRole.Window, "#202124"),
        (QPalette.ColorRole.WindowText, "#e8eaed"),
        (QPalette.ColorRole.Base, "#171717"),
        (QPalette.ColorRole.Text, "#e8eaed"),
        (QPalette.ColorRole.Button, "#303134"),
        (QPalette.ColorRole.ButtonText, "#e8eaed"),
        (QPalette.ColorRole.Mid, "#5f6368"),
    ):
        palette.setColor(role, QColor(colour))
    watcher = watch_theme(qapp)
    yield palette
    qapp.setPalette(light)
    qapp.removeEventFilter(watcher)


def test_every_view_follows_a_dark_palette_live(
    qtbot: QtBot,
    workspace: Callable[[], MainWindow],
    run_tokens: Callable[[MainWindow, int], None],
    dark: QPalette,
    qapp: QApplication,
) -> None:
    window = workspace()
    run_tokens(window, 3)
    warning = window.tokenizer.warning
    set_status_style(warning, "warning")
    qapp.setPalette(dark)  # the desktop switched to its dark theme
    qtbot.waitUntil(lambda: "#fbbf24" in warning.styleSheet(), timeout=5_000)
    assert warning.styleSheet() == f"color: {STATUS_COLORS['warning'][1]}"
    plots = [w for w in window.findChildren(pg.PlotWidget) if w.property(PLOT_PROPERTY)]
    assert len(plots) >= 2  # the chart and the timeline at least
    for plot in plots:
        assert plot.backgroundBrush().color().name() == "#202124", plot
        axis = plot.getPlotItem().getAxis("left")
        assert axis.textPen().color().name() == "#e8eaed"
    legend = window.workspace.timeline._legend
    assert legend.brush().color().name() == "#202124"
    assert all("#e8eaed" in label.item.toHtml() for _sample, label in legend.items)
    prompt = window.workspace.prompt_edit
    qtbot.waitUntil(lambda: prompt.palette().color(QPalette.ColorRole.Base).name() == "#171717")
