"""The window on a 1366×768 laptop screen: it opens inside the screen, never resizes
itself, and in every mode no two of its widgets overlap."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QRect
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QComboBox,
    QTabBar,
    QWidget,
)
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow

Workspace = Callable[[], MainWindow]
RunTokens = Callable[[MainWindow, int], None]
LAPTOP = QRect(0, 0, 1366, 768)
# Composite widgets draw their own parts on top of each other by design.
COMPOSITES = (QAbstractScrollArea, QAbstractSpinBox, QComboBox, QTabBar)


def overlapping(root: QWidget) -> list[tuple[str, str]]:
    """Pairs of visible sibling widgets (laid out side by side) whose rectangles cross."""
    found = []
    for parent in [root, *root.findChildren(QWidget)]:
        if not parent.isVisible() or isinstance(parent, COMPOSITES):
            continue
        if any(isinstance(a, COMPOSITES) for a in _ancestors(parent, root)):
            continue
        kids = [
            c
            for c in parent.findChildren(QWidget, options=_direct())
            if c.isVisible() and not c.isWindow() and c.width() > 0 and c.height() > 0
        ]
        for i, a in enumerate(kids):
            for b in kids[i + 1 :]:
                if a.geometry().intersected(b.geometry()).isValid():
                    found.append((_name(a), _name(b)))
    return found


def _direct() -> object:
    from PySide6.QtCore import Qt

    return Qt.FindChildOption.FindDirectChildrenOnly


def _ancestors(widget: QWidget, root: QWidget) -> list[QWidget]:
    chain = []
    parent = widget.parentWidget()
    while parent is not None and parent is not root:
        chain.append(parent)
        parent = parent.parentWidget()
    return chain


def _name(widget: QWidget) -> str:
    text = getattr(widget, "text", None)
    label = text() if callable(text) else ""
    return f"{type(widget).__name__}({str(label)[:30]!r})"


def test_the_window_opens_inside_a_laptop_screen(qtbot: QtBot, workspace: Workspace) -> None:
    window = workspace()
    window.fit_to(LAPTOP)
    frame = window.frameGeometry()
    assert window.width() <= LAPTOP.width() and window.height() + 30 <= LAPTOP.height()
    assert LAPTOP.contains(window.pos()) and frame.x() >= 0 and frame.y() >= 0
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 640, hint


def test_every_mode_fits_without_growing_or_overlapping(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    window.fit_to(LAPTOP)
    size = window.size()
    for mode in ("greedy", "sample", "beam"):
        window.workspace.decoding.set_mode(mode)
        run_tokens(window, 6)
        window.workspace.select_step(2)
        qtbot.wait(50)  # layouts settle
        assert window.size() == size, mode
        assert overlapping(window) == [], mode
    for tab in (window.compare, window.beam_view, window.tokenizer, window.models):
        window.tabs.setCurrentWidget(tab)
        qtbot.wait(50)
        assert window.size() == size, tab
        assert overlapping(window) == [], type(tab).__name__
