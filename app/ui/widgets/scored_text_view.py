"""A scored text: each token's background says how surprising it was to the model, by
surprisal (bits) or by rank (top 1, top 10, top 100, beyond: the view that tells human
text from model text). Hover a token for its log p, rank and the model's top choices."""

from __future__ import annotations

import bisect
import html

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtGui import QColor, QHelpEvent, QMouseEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QPlainTextEdit, QToolTip, QWidget

from app.core.decoding.text_score import ScoredToken, TextScore
from app.core.units import format_percent
from app.ui.widgets import palette
from app.ui.widgets.theme import fixed_font
from app.ui.widgets.token_text import visible_piece

RANK_BUCKETS = ((1, "top 1", "#86efac"), (10, "top 10", "#fde68a"), (100, "top 100", "#fdba74"))
BEYOND = ("beyond top 100", "#fca5a5")
SURPRISAL_FULL_BITS = 16.0


def rank_bucket(rank: int) -> tuple[str, QColor]:
    for limit, label, colour in RANK_BUCKETS:
        if rank <= limit:
            return label, QColor(colour)
    return BEYOND[0], QColor(BEYOND[1])


def surprisal_color(bits: float) -> QColor:
    """Pale for an expected token, deep red for a surprising one."""
    level = max(0.0, min(1.0, bits / SURPRISAL_FULL_BITS))
    return QColor.fromHslF(0.0, 0.85, 0.95 - 0.35 * level)


def shown(piece: str) -> str:
    return visible_piece(piece.encode("utf-8", "surrogateescape"))


class ScoredTextView(QPlainTextEdit):
    token_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.setFont(fixed_font(12))
        self.viewport().setMouseTracking(True)
        self.viewport().installEventFilter(self)
        self.mode = "rank"
        self.score: TextScore | None = None
        self._starts: list[int] = []
        self._ends: list[int] = []
        self.setAccessibleName("The scored text, each token coloured by its surprisal")

    def set_score(self, score: TextScore | None, mode: str | None = None) -> None:
        self.score = score
        self.mode = mode or self.mode
        self.clear()
        self._starts, self._ends = [], []
        if score is None:
            return
        cursor = QTextCursor(self.document())
        cursor.beginEditBlock()  # one layout for the whole text, not one per token
        formats: dict[str, QTextCharFormat] = {}
        for token in score.tokens:
            start = cursor.position()
            colour = self.color_of(token)
            fmt = formats.get(colour.name())
            if fmt is None:
                fmt = formats[colour.name()] = QTextCharFormat()
                fmt.setBackground(colour)
                fmt.setForeground(palette.TOKEN_TEXT)
            cursor.insertText(token.piece, fmt)
            self._starts.append(start)
            self._ends.append(cursor.position())
        cursor.endEditBlock()

    def color_of(self, token: ScoredToken) -> QColor:
        if self.mode == "rank":
            return rank_bucket(token.rank)[1]
        return surprisal_color(token.surprisal_bits)

    def token_at(self, position: int) -> int:
        index = bisect.bisect_right(self._starts, position) - 1
        if 0 <= index < len(self._ends) and position < self._ends[index]:
            return index
        return -1

    def token_span(self, index: int) -> tuple[int, int]:
        """Where token `index` is in the document: [start, end)."""
        return self._starts[index], self._ends[index]

    def select_token(self, index: int) -> None:
        if 0 <= index < len(self._starts):
            cursor = self.textCursor()
            cursor.setPosition(self._starts[index])
            cursor.setPosition(self._ends[index], QTextCursor.MoveMode.KeepAnchor)
            self.setTextCursor(cursor)
            self.ensureCursorVisible()

    def tooltip_for(self, index: int) -> str:
        assert self.score is not None
        token = self.score.tokens[index]
        top = " · ".join(f"{html.escape(shown(p))} {format_percent(q)}" for _i, p, q in token.top)
        return (
            f"<b>“{html.escape(shown(token.piece))}”</b> · token {index + 1}<br>"
            f"log p {token.logprob:.3f} · surprisal {token.surprisal_bits:.2f} bits · "
            f"rank {token.rank:,} ({rank_bucket(token.rank)[0]})<br>"
            f"the model expected: {top}"
        )

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.viewport() and self.score is not None:
            if event.type() == QEvent.Type.ToolTip and isinstance(event, QHelpEvent):
                index = self.token_at(self.cursorForPosition(event.pos()).position())
                if index >= 0:
                    QToolTip.showText(event.globalPos(), self.tooltip_for(index), self)
                    self.setAccessibleDescription(self.tooltip_for(index))
                else:
                    QToolTip.hideText()
                return True
            if event.type() == QEvent.Type.MouseButtonRelease and isinstance(event, QMouseEvent):
                index = self.token_at(self.cursorForPosition(event.position().toPoint()).position())
                if index >= 0 and event.button() == Qt.MouseButton.LeftButton:
                    self.token_clicked.emit(index)
        return super().eventFilter(watched, event)
