"""The Decoding panel in a scrolling column: the wheel scrolls it and never changes a
value the user did not click into."""

from __future__ import annotations

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QScrollArea, QVBoxLayout, QWidget
from pytestqt.qtbot import QtBot

from app.ui.tabs.decoding_panel import DecodingPanel


def _wheel(widget: QWidget) -> None:
    event = QWheelEvent(
        QPointF(5, 5),
        QPointF(widget.mapToGlobal(QPoint(5, 5))),
        QPoint(0, 0),
        QPoint(0, -120),
        Qt.MouseButton.NoButton,
        Qt.KeyboardModifier.NoModifier,
        Qt.ScrollPhase.NoScrollPhase,
        False,
    )
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_the_panel_not_an_unfocused_value(qtbot: QtBot) -> None:
    panel = DecodingPanel()
    host = QWidget()
    QVBoxLayout(host).addWidget(panel)
    host.setMinimumHeight(900)
    area = QScrollArea()
    area.setWidget(host)
    area.resize(400, 200)
    qtbot.addWidget(area)
    area.show()
    before = panel.max_tokens.value()
    bar = area.verticalScrollBar()
    assert bar.maximum() > 0 and bar.value() == 0
    _wheel(panel.max_tokens)
    assert panel.max_tokens.value() == before
    assert bar.value() > 0  # the panel scrolled instead
    panel.max_tokens.setFocus()
    qtbot.waitUntil(panel.max_tokens.hasFocus, timeout=2000)
    _wheel(panel.max_tokens)
    assert panel.max_tokens.value() != before  # a focused control still takes the wheel
