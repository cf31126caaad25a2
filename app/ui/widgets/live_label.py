"""A text line that changes often (many times a second) without re-laying out its window.

QLabel.setText recomputes its size hint and invalidates every layout above it; with
word wrap, that made the whole side panel (and with the status bar, the window) repaint
for each new step. This widget keeps a constant size hint and only repaints itself.
"""

from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent, QPalette
from PySide6.QtWidgets import QSizePolicy, QWidget


class LiveLabel(QWidget):
    def __init__(
        self,
        text: str = "",
        *,
        lines: int = 1,
        alignment: Qt.AlignmentFlag = Qt.AlignmentFlag.AlignLeft,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._text = text
        self._lines = lines
        self._alignment = alignment | Qt.AlignmentFlag.AlignVCenter
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setFixedHeight(self.fontMetrics().lineSpacing() * lines + 4)
        self.setAccessibleName(text)  # painted here, so a screen reader reads it from this

    def text(self) -> str:
        return self._text

    def setText(self, text: str) -> None:
        if text != self._text:
            self._text = text
            self.setToolTip(text if self._lines == 1 else "")
            self.setAccessibleName(text)
            self.update()

    def sizeHint(self) -> QSize:
        return QSize(200, self.height())

    def minimumSizeHint(self) -> QSize:
        return QSize(40, self.height())

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setPen(self.palette().color(QPalette.ColorRole.WindowText))
        flags = int(self._alignment) | int(Qt.TextFlag.TextWordWrap)
        rect = self.rect().adjusted(2, 0, -2, 0)
        text = self._text
        if self._lines == 1:
            text = self.fontMetrics().elidedText(text, Qt.TextElideMode.ElideRight, rect.width())
        painter.drawText(rect, flags, text)
