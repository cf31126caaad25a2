"""Tokens drawn as chips: alternating backgrounds at boundaries, byte-fallback and special
tokens styled apart, the tokens that share one character marked together.

The view lays the chips out itself and paints only the visible lines, so a megabyte of
text (a quarter of a million chips) scrolls as smoothly as a sentence: laying out costs
one width lookup per token (widths are cached per distinct text), painting costs only
what is on screen.
"""

from __future__ import annotations

import bisect
import html
from collections.abc import Sequence

from PySide6.QtCore import QPoint, QPointF, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import (
    QFontMetricsF,
    QHelpEvent,
    QMouseEvent,
    QPainter,
    QPaintEvent,
    QPen,
    QResizeEvent,
)
from PySide6.QtWidgets import QAbstractScrollArea, QToolTip, QWidget

from app.core.tokenizer.text_tokens import SplitCharacter
from app.core.tokenizer.tokens import TokenInfo
from app.ui.widgets import palette
from app.ui.widgets.theme import fixed_font

MARKS = {" ": "␣", "\t": "→"}
MARGIN = 6.0
LAYOUT_SLICE = 8_000  # tokens laid out per event-loop pass (~6 ms here)
LINE_GAP = 3.0


def shown_text(info: TokenInfo, *, vocabulary: bool, whitespace: bool) -> str:
    """The chip's text; a newline inside it breaks the line (shown as ↵ with markers).

    Whitespace marks apply to vocabulary strings too: some vocabularies (Gemma's) store
    runs of spaces, tabs and newlines as they are, which would leave an empty chip.
    """
    if vocabulary or not info.piece:
        text = info.vocab_text
    else:
        text = info.piece.decode("utf-8", "backslashreplace")
    if whitespace:
        for char, mark in MARKS.items():
            text = text.replace(char, mark)
        text = text.replace("\n", "↵\n")
    return text


class TokenChips(QAbstractScrollArea):
    token_clicked = Signal(int)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewport().setFont(fixed_font(12))
        self.viewport().setMouseTracking(True)
        # Always there: a scroll bar that came and went would change the width twice.
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self._laid_out_width = -1
        self._metrics = QFontMetricsF(self.viewport().font())
        self._widths: dict[str, float] = {}
        self.infos: list[TokenInfo] = []
        self.split: list[SplitCharacter] = []
        self._in_split: set[int] = set()
        self.differing: set[int] = set()  # tokens split differently by another tokenizer
        self._texts: list[str] = []
        # Layout: each token's segments (a token with newlines has several), by line.
        self._line_first: list[int] = []  # first segment of each line
        self._seg_token: list[int] = []
        self._seg_text: list[str] = []
        self._seg_x: list[float] = []
        self._seg_w: list[float] = []
        self._seg_line: list[int] = []
        self._line_height = self._metrics.height() + LINE_GAP
        self._layout_next = 0  # the next token to lay out
        self._layout_x = 0.0
        self._layout_line = 0
        self._selected = -1
        self.vocabulary = False
        self.whitespace = False

    # ---- content ------------------------------------------------------------------
    def show_tokens(self, infos: Sequence[TokenInfo], split: Sequence[SplitCharacter]) -> None:
        self.infos = list(infos)
        self.split = list(split)
        self._in_split = {k for group in self.split for k in group.tokens}
        self.differing = set()
        self._selected = -1
        self._update_texts()

    def set_options(self, *, vocabulary: bool, whitespace: bool) -> None:
        self.vocabulary = vocabulary
        self.whitespace = whitespace
        self._update_texts()

    def set_differing(self, positions: set[int]) -> None:
        self.differing = positions
        self.viewport().update()

    def plain_text(self) -> str:
        return "".join(self._texts)

    def select_token(self, index: int) -> None:
        self._selected = index
        if 0 <= index < len(self.infos):
            segment = self._seg_token.index(index) if index in self._seg_token else -1
            if segment >= 0:
                y = self._seg_line[segment] * self._line_height
                bar = self.verticalScrollBar()
                if not bar.value() <= y <= bar.value() + self.viewport().height() - 20:
                    bar.setValue(int(y))
        self.viewport().update()

    # ---- layout -------------------------------------------------------------------
    def _width(self, text: str) -> float:
        width = self._widths.get(text)
        if width is None:
            width = self._widths[text] = max(self._metrics.horizontalAdvance(text), 4.0)
        return width

    def _update_texts(self) -> None:
        self._texts = []
        self._relayout()

    def _relayout(self) -> None:
        """Start laying out from the first token; long texts continue in slices between
        events (see `_continue_layout`), so the window never freezes."""
        self._laid_out_width = self.viewport().width()
        self._line_first = [0]
        self._seg_token, self._seg_text = [], []
        self._seg_x, self._seg_w, self._seg_line = [], [], []
        self._layout_next = 0
        self._layout_x = 0.0
        self._layout_line = 0
        self._continue_layout()

    @property
    def laid_out(self) -> bool:
        return self._layout_next >= len(self.infos)

    def _continue_layout(self) -> None:
        end = min(len(self.infos), self._layout_next + LAYOUT_SLICE)
        vocabulary, whitespace = self.vocabulary, self.whitespace
        if len(self._texts) < end:
            self._texts.extend(
                shown_text(i, vocabulary=vocabulary, whitespace=whitespace)
                for i in self.infos[len(self._texts) : end]
            )
        limit = max(80.0, self._laid_out_width - 2 * MARGIN)
        line_first = self._line_first
        seg_token, seg_text = self._seg_token, self._seg_text
        seg_x, seg_w, seg_line = self._seg_x, self._seg_w, self._seg_line
        x = self._layout_x
        line = self._layout_line
        width_of = self._width
        for index in range(self._layout_next, end):
            text = self._texts[index]
            parts = text.split("\n") if "\n" in text else (text,)
            for k, part in enumerate(parts):
                if k:  # a newline inside the token
                    line += 1
                    line_first.append(len(seg_token))
                    x = 0.0
                if not part and k:
                    continue
                w = width_of(part)
                if x > 0 and x + w > limit:
                    line += 1
                    line_first.append(len(seg_token))
                    x = 0.0
                seg_token.append(index)
                seg_text.append(part)
                seg_x.append(x)
                seg_w.append(w)
                seg_line.append(line)
                x += w + 1.0
        self._layout_next, self._layout_x, self._layout_line = end, x, line
        if end < len(self.infos):
            QTimer.singleShot(0, self._continue_slice)
        total = (line + 1) * self._line_height + 2 * MARGIN
        bar = self.verticalScrollBar()
        bar.setRange(0, max(0, int(total - self.viewport().height())))
        bar.setPageStep(self.viewport().height())
        bar.setSingleStep(int(self._line_height))
        self.viewport().update()

    def _continue_slice(self) -> None:
        if not self.laid_out:
            self._continue_layout()

    def resizeEvent(self, event: QResizeEvent) -> None:
        super().resizeEvent(event)
        if self.viewport().width() != self._laid_out_width:
            self._relayout()

    # ---- painting -----------------------------------------------------------------
    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self.viewport())
        top = self.verticalScrollBar().value()
        height = self.viewport().height()
        first_line = max(0, int((top - MARGIN) // self._line_height))
        last_line = int((top + height) // self._line_height) + 1
        if first_line >= len(self._line_first):
            return
        start = self._line_first[first_line]
        end = (
            self._line_first[last_line]
            if last_line < len(self._line_first)
            else len(self._seg_token)
        )
        ascent = self._metrics.ascent()
        for segment in range(start, end):
            index = self._seg_token[segment]
            info = self.infos[index]
            rect = QRectF(
                MARGIN + self._seg_x[segment],
                MARGIN + self._seg_line[segment] * self._line_height - top,
                self._seg_w[segment],
                self._line_height - LINE_GAP,
            )
            background = palette.TOKEN_BANDS[index % 2]
            color = palette.TOKEN_TEXT
            if info.kind == "byte":
                color = palette.BYTE_TOKEN_TEXT
            elif info.kind in ("control", "user_defined", "unknown") or not info.piece:
                color, background = palette.SPECIAL_TEXT, palette.SPECIAL_BACKGROUND
            painter.fillRect(rect, background)
            if index in self.differing:
                painter.setPen(QPen(palette.DIFFERENT, 1.5, Qt.PenStyle.DotLine))
                painter.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
            if index in self._in_split:
                painter.setPen(QPen(palette.SPLIT_CHARACTER, 1.5, Qt.PenStyle.DashLine))
                painter.drawLine(rect.bottomLeft(), rect.bottomRight())
            if index == self._selected:
                painter.setPen(QPen(palette.SELECTED, 2.0))
                painter.drawRect(rect.adjusted(0.5, 0.5, -0.5, -0.5))
            painter.setPen(color)
            painter.drawText(QPointF(rect.left(), rect.top() + ascent), self._seg_text[segment])

    # ---- pointer ------------------------------------------------------------------
    def token_at(self, point: QPointF | QPoint) -> int:
        y = point.y() + self.verticalScrollBar().value() - MARGIN
        line = int(y // self._line_height)
        if y < 0 or line >= len(self._line_first):
            return -1
        start = self._line_first[line]
        end = self._line_first[line + 1] if line + 1 < len(self._line_first) else len(self._seg_x)
        x = point.x() - MARGIN
        k = bisect.bisect_right(self._seg_x, x, start, end) - 1
        if start <= k < end and x <= self._seg_x[k] + self._seg_w[k]:
            return self._seg_token[k]
        return -1

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.token_at(event.position())
        if index >= 0 and event.button() == Qt.MouseButton.LeftButton:
            self.select_token(index)
            self.token_clicked.emit(index)
            event.accept()  # handled here: the click is not the parent's
            return
        super().mousePressEvent(event)

    def mouseReleaseEvent(self, event: QMouseEvent) -> None:
        if self.token_at(event.position()) >= 0:
            event.accept()  # the end of a click on a chip
            return
        super().mouseReleaseEvent(event)

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
