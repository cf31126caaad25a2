"""Tokens drawn as chips: alternating backgrounds at boundaries, byte-fallback and special
tokens styled apart, the tokens that share one character marked together."""

from __future__ import annotations

import bisect
import html
from collections.abc import Sequence

from PySide6.QtCore import QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFont, QHelpEvent, QMouseEvent, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextEdit, QToolTip, QWidget

from app.core.text_tokens import SplitCharacter
from app.core.tokens import TokenInfo

CHIP_COLORS = (QColor("#dbeafe"), QColor("#fde68a"))
TEXT_COLOR = QColor("#111827")
BYTE_COLOR = QColor("#c2410c")  # byte-fallback tokens (<0xE2>)
SPECIAL_COLOR = QColor("#6d28d9")  # control / user-defined tokens
SPECIAL_BACKGROUND = QColor("#ede9fe")
SPLIT_UNDERLINE = QColor("#dc2626")  # tokens that share one character
SELECTED = QColor("#f97316")
MARKS = {" ": "␣", "\n": "↵\n", "\t": "→"}


def shown_text(info: TokenInfo, *, vocabulary: bool, whitespace: bool) -> str:
    if vocabulary or not info.piece:
        text = info.vocab_text
    else:
        text = info.piece.decode("utf-8", "backslashreplace")
    if whitespace and not vocabulary:
        for char, mark in MARKS.items():
            text = text.replace(char, mark)
    return text


class TokenChips(QTextEdit):
    token_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(12)
        self.setFont(font)
        self.viewport().setMouseTracking(True)
        self.infos: list[TokenInfo] = []
        self.split: list[SplitCharacter] = []
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._selected = -1
        self.vocabulary = False
        self.whitespace = False

    def show_tokens(self, infos: Sequence[TokenInfo], split: Sequence[SplitCharacter]) -> None:
        self.infos = list(infos)
        self.split = list(split)
        self._selected = -1
        self._render()

    def set_options(self, *, vocabulary: bool, whitespace: bool) -> None:
        self.vocabulary = vocabulary
        self.whitespace = whitespace
        self._render()

    def _render(self) -> None:
        self.clear()
        self._starts, self._ends = [], []
        in_split = {k for group in self.split for k in group.tokens}
        cursor = QTextCursor(self.document())
        for index, info in enumerate(self.infos):
            fmt = QTextCharFormat()
            fmt.setForeground(TEXT_COLOR)
            fmt.setBackground(CHIP_COLORS[index % 2])
            if info.kind == "byte":
                fmt.setForeground(BYTE_COLOR)
            elif info.kind in ("control", "user_defined", "unknown") or not info.piece:
                fmt.setForeground(SPECIAL_COLOR)
                fmt.setBackground(SPECIAL_BACKGROUND)
            if index in in_split:
                fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.DashUnderline)
                fmt.setUnderlineColor(SPLIT_UNDERLINE)
            text = shown_text(info, vocabulary=self.vocabulary, whitespace=self.whitespace)
            start = cursor.position()
            cursor.insertText(text, fmt)
            self._starts.append(start)
            self._ends.append(cursor.position())
        self._mark_selected()

    def select_token(self, index: int) -> None:
        self._selected = index
        self._mark_selected()

    def _mark_selected(self) -> None:
        if not 0 <= self._selected < len(self._starts):
            self.setExtraSelections([])
            return
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.document())
        cursor.setPosition(self._starts[self._selected])
        cursor.setPosition(self._ends[self._selected], QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor
        fmt = QTextCharFormat()
        fmt.setFontWeight(QFont.Weight.Bold)
        fmt.setForeground(TEXT_COLOR)
        fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SingleUnderline)
        fmt.setUnderlineColor(SELECTED)
        selection.format = fmt
        self.setExtraSelections([selection])

    def token_at(self, point: QPointF) -> int:
        offset = QPointF(self.horizontalScrollBar().value(), self.verticalScrollBar().value())
        position = (
            self.document().documentLayout().hitTest(point + offset, Qt.HitTestAccuracy.ExactHit)
        )
        if position < 0:
            return -1
        index = bisect.bisect_right(self._starts, position) - 1
        if 0 <= index < len(self._ends) and position < self._ends[index]:
            return index
        return -1

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.token_at(event.position())
        if index >= 0 and event.button() == Qt.MouseButton.LeftButton:
            self.select_token(index)
            self.token_clicked.emit(index)
        super().mousePressEvent(event)

    def viewportEvent(self, event: object) -> bool:
        if isinstance(event, QHelpEvent):
            index = self.token_at(QPointF(event.pos()))
            if index >= 0:
                QToolTip.showText(event.globalPos(), self.tooltip_for(index), self)
            else:
                QToolTip.hideText()
            return True
        return super().viewportEvent(event)  # type: ignore[arg-type]

    def tooltip_for(self, index: int) -> str:
        info = self.infos[index]
        hex_bytes = " ".join(f"{b:02X}" for b in info.piece) or "(none: not in the text)"
        group = next((g for g in self.split if index in g.tokens), None)
        shared = (
            f"<br>one of {len(group.tokens)} tokens that make up “{html.escape(group.char)}”"
            if group is not None
            else ""
        )
        return (
            f"<b>id {info.id}</b> · {info.kind.replace('_', '-')}<br>"
            f"vocabulary: <tt>{html.escape(info.vocab_text)}</tt><br>"
            f"bytes: <tt>{hex_bytes}</tt><br>"
            f"byte offsets {info.start}–{info.end}{shared}"
        )
