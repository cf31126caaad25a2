"""Generated text as tokens: each token is a span whose background marks BPE boundaries.

Colour modes: alternating bands at token boundaries, the chosen token's probability, or
the step's entropy. Whitespace markers show leading spaces and newlines (␣ ↵). Hover
shows a token's id, piece, probability, rank and top 5; a click selects its step.
"""

from __future__ import annotations

import bisect
import html
import re

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt, Signal
from PySide6.QtGui import (
    QColor,
    QFont,
    QHelpEvent,
    QMouseEvent,
    QTextCharFormat,
    QTextCursor,
)
from PySide6.QtWidgets import QTextEdit, QToolTip, QWidget

from app.core.decoding.step_records import TokenStep
from app.core.runs.run_record import entropy_bits, surprisal_bits
from app.core.tokenizer.utf8_stream import Utf8Stream
from app.core.units import format_percent as percent
from app.ui.widgets import palette
from app.ui.widgets.theme import fixed_font
from app.ui.widgets.token_text import visible_piece

COLOR_MODES = ("boundaries", "probability", "entropy")


class TokenStreamView(QTextEdit):
    """Read-only text: the prompt in grey, then the generated tokens."""

    step_clicked = Signal(int)
    """A token was clicked: its step's position in the run."""
    step_hovered = Signal(int)
    """The pointer is over a token (its step's position), or -1."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        self.viewport().setMouseTracking(True)
        self.viewport().installEventFilter(self)
        self.viewport().setCursor(Qt.CursorShape.PointingHandCursor)
        self.setFont(fixed_font(12))
        self.color_mode = "boundaries"
        self.show_whitespace = False
        self.view_temperature = 1.0  # the chart's T, shown beside the model's p in tooltips
        self.steps: list[TokenStep] = []
        self.pieces: dict[int, bytes] = {}
        self._starts: list[int] = []  # each step's span in the document: [start, end)
        self._ends: list[int] = []
        self._prompt = ""
        self._utf8 = Utf8Stream()
        self._selected = -1
        self._hovered = -1
        self._emphasis: list[tuple[int, int]] = []
        self._divergence = -1
        self._prompt_tokens: list[tuple[str, bool]] = []

    # ---- content -----------------------------------------------------------------
    def start(self, prompt: str) -> None:
        self._prompt = prompt
        self._prompt_tokens = []
        self.steps = []
        self._emphasis = []
        self._divergence = -1
        self._render()

    def start_tokens(self, tokens: list[tuple[str, bool]]) -> None:
        """Start with a prompt shown token by token, special tokens highlighted (a prompt
        made by a chat template)."""
        self._prompt_tokens = list(tokens)
        self._prompt = "".join(text for text, _special in tokens)
        self.steps = []
        self._emphasis = []
        self._divergence = -1
        self._render()

    def append_steps(self, steps: list[TokenStep]) -> None:
        """Append steps in one edit: the document lays its paragraph out once for the
        batch instead of once per token."""
        if not steps:
            return
        cursor = self._cursor_end()
        cursor.beginEditBlock()
        for step in steps:
            self.steps.append(step)
            self._insert(len(self.steps) - 1, cursor)
        cursor.endEditBlock()
        self.ensureCursorVisible()

    def truncate(self, count: int) -> None:
        """Keep the first `count` steps (a branch replaces the rest)."""
        del self.steps[count:]
        self._selected = min(self._selected, count - 1)
        self._render()

    def set_steps(self, prompt: str, steps: list[TokenStep]) -> None:
        self._prompt = prompt
        self.steps = list(steps)
        self._render()

    def finish(self) -> None:
        tail = self._utf8.flush()
        if tail:
            self._cursor_end().insertText(
                self._shown(tail), self._token_format(len(self.steps) - 1)
            )
            if self._ends:
                self._ends[-1] = self._end_position()

    @property
    def generated_text(self) -> str:
        return self._utf8.text

    # ---- appearance --------------------------------------------------------------
    def set_color_mode(self, mode: str) -> None:
        if mode not in COLOR_MODES:
            raise ValueError(f"unknown colour mode {mode!r}")
        self.color_mode = mode
        self._render()

    def set_show_whitespace(self, show: bool) -> None:
        self.show_whitespace = show
        self._render()

    def select_step(self, index: int) -> None:
        self._selected = index
        self._update_marks()
        if 0 <= index < len(self.steps):  # the colour shows how likely; this says it
            text = re.sub(r"<[^>]+>", "", self.tooltip_for(index).replace("<br>", "; "))
            self.setAccessibleDescription(html.unescape(text))

    def hover_step(self, index: int) -> None:
        if index != self._hovered:
            self._hovered = index
            self._update_marks()

    def set_emphasis(self, spans: list[tuple[int, int]], divergence: int | None) -> None:
        """Emphasize document ranges (words that differ from another text) and mark the
        step where the text parts from the others."""
        self._emphasis = list(spans)
        self._divergence = -1 if divergence is None else divergence
        self._update_marks()

    @property
    def emphasis(self) -> list[tuple[int, int]]:
        return list(self._emphasis)

    @property
    def prompt_tokens(self) -> list[tuple[str, bool]]:
        """The prompt's tokens (text, special) when it was shown token by token."""
        return list(self._prompt_tokens)

    @property
    def divergence_step(self) -> int | None:
        return self._divergence if self._divergence >= 0 else None

    def step_span(self, index: int) -> tuple[int, int]:
        """The document positions [start, end) of a step's text."""
        return self._starts[index], self._ends[index]

    # ---- rendering ---------------------------------------------------------------
    def _render(self) -> None:
        self.clear()
        self._utf8 = Utf8Stream()
        self._starts = []
        self._ends = []
        fmt = QTextCharFormat()
        fmt.setForeground(palette.PROMPT_TEXT)
        if self._prompt_tokens:
            special = QTextCharFormat()
            special.setForeground(palette.SPECIAL_TEXT)
            special.setBackground(palette.SPECIAL_BACKGROUND)
            for text, is_special in self._prompt_tokens:
                self._cursor_end().insertText(self._shown(text), special if is_special else fmt)
        else:
            self._cursor_end().insertText(self._shown(self._prompt), fmt)
        cursor = self._cursor_end()
        cursor.beginEditBlock()
        for index in range(len(self.steps)):
            self._insert(index, cursor)
        cursor.endEditBlock()
        self._update_marks()

    def _insert(self, index: int, cursor: QTextCursor) -> None:
        """Insert a step's text at `cursor`, which stays at the document's end."""
        start = cursor.position()
        if not self.steps[index].ends_generation:
            text = self._utf8.push(self.steps[index].piece)
            if text:  # an unfinished character shows with the token that completes it
                cursor.insertText(self._shown(text), self._token_format(index))
        self._starts.append(start)
        self._ends.append(cursor.position())

    def _shown(self, text: str) -> str:
        if not self.show_whitespace:
            return text
        # A zero-width space after each mark keeps a break opportunity: without it, a
        # line of ␣-joined words could only break inside a word ("larg|est").
        return text.replace(" ", "␣\u200b").replace("\t", "→\u200b").replace("\n", "↵\n")

    def _token_format(self, index: int) -> QTextCharFormat:
        step = self.steps[index]
        fmt = QTextCharFormat()
        fmt.setForeground(palette.TOKEN_TEXT)
        if self.color_mode == "probability":
            fmt.setBackground(palette.probability_color(step.p))
        elif self.color_mode == "entropy":
            fmt.setBackground(palette.entropy_color(entropy_bits(step)))
        else:
            fmt.setBackground(palette.TOKEN_BANDS[index % 2])
        if step.forced:
            fmt.setFontUnderline(True)
        return fmt

    def _cursor_end(self) -> QTextCursor:
        cursor = QTextCursor(self.document())
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor

    def _end_position(self) -> int:
        return self._cursor_end().position()

    def _update_marks(self) -> None:
        # Every mark sets its text colour: where two overlap, Qt draws the later one, and
        # a format without a foreground there came out blank.
        marks = []
        for start, end in self._emphasis:
            marks.append(self._selection(start, end, bold=True, color=palette.EMPHASIS))
        if 0 <= self._divergence < len(self._starts):
            start, end = self._starts[self._divergence], self._ends[self._divergence]
            if start != end:
                color = palette.EMPHASIS if self._emphasized(start, end) else palette.TOKEN_TEXT
                marks.append(self._selection(start, end, color=color, wave=palette.DIVERGENCE))
        for index, line in ((self._hovered, palette.HOVERED), (self._selected, palette.SELECTED)):
            if not 0 <= index < len(self._starts):
                continue
            start, end = self._starts[index], self._ends[index]
            if start == end:
                continue
            color = palette.EMPHASIS if self._emphasized(start, end) else palette.TOKEN_TEXT
            marks.append(
                self._selection(
                    start, end, bold=index == self._selected, color=color, underline=line
                )
            )
        self.setExtraSelections(marks)

    def _selection(
        self,
        start: int,
        end: int,
        *,
        bold: bool = False,
        color: QColor | None = None,
        wave: QColor | None = None,
        underline: QColor | None = None,
    ) -> QTextEdit.ExtraSelection:
        selection = QTextEdit.ExtraSelection()
        cursor = QTextCursor(self.document())
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        selection.cursor = cursor
        fmt = QTextCharFormat()
        if bold:
            fmt.setFontWeight(QFont.Weight.Bold)
        if color is not None:
            fmt.setForeground(color)
        if wave is not None:
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.WaveUnderline)
            fmt.setUnderlineColor(wave)
        if underline is not None:
            fmt.setUnderlineStyle(QTextCharFormat.UnderlineStyle.SingleUnderline)
            fmt.setUnderlineColor(underline)
        selection.format = fmt
        return selection

    def _emphasized(self, start: int, end: int) -> bool:
        return any(s < end and start < e for s, e in self._emphasis)

    # ---- pointer -----------------------------------------------------------------
    def step_at(self, point: QPoint) -> int:
        """The step whose text is under a viewport point, or -1."""
        offset = QPointF(self.horizontalScrollBar().value(), self.verticalScrollBar().value())
        layout = self.document().documentLayout()
        position = layout.hitTest(QPointF(point) + offset, Qt.HitTestAccuracy.ExactHit)
        if position < 0:
            return -1
        index = bisect.bisect_right(self._starts, position) - 1
        while index >= 0 and self._starts[index] == self._ends[index]:
            index -= 1  # empty spans (end of generation, a split character) share a start
        if index >= 0 and self._starts[index] <= position < self._ends[index]:
            return index
        return -1

    def mousePressEvent(self, event: QMouseEvent) -> None:
        index = self.step_at(event.position().toPoint())
        if index >= 0 and event.button() == Qt.MouseButton.LeftButton:
            self.step_clicked.emit(index)
        super().mousePressEvent(event)

    def mouseMoveEvent(self, event: QMouseEvent) -> None:
        index = self.step_at(event.position().toPoint())
        if index != self._hovered:
            self.hover_step(index)
            self.step_hovered.emit(index)
        super().mouseMoveEvent(event)

    def leaveEvent(self, event: QEvent) -> None:
        if self._hovered != -1:
            self.hover_step(-1)
            self.step_hovered.emit(-1)
        super().leaveEvent(event)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        # A filter, not a viewportEvent override: with an override every paint of the
        # text would run inside a Python call, holding the GIL the engine thread needs.
        if (
            watched is self.viewport()
            and event.type() == QEvent.Type.ToolTip
            and isinstance(event, QHelpEvent)
        ):
            index = self.step_at(event.pos())
            if index >= 0:
                QToolTip.showText(event.globalPos(), self.tooltip_for(index), self)
            else:
                QToolTip.hideText()
            return True
        return super().eventFilter(watched, event)

    def set_view_temperature(self, temperature: float) -> None:
        self.view_temperature = temperature

    def tooltip_for(self, index: int) -> str:
        step = self.steps[index]
        alternatives = ", ".join(
            f"{html.escape(visible_piece(self.pieces.get(t.id, b'?')))} {percent(t.p)}"
            for t in step.top(5, 1.0)
        )
        forced = " · forced" if step.forced else ""
        lines = [
            f"<b>“{html.escape(visible_piece(step.piece))}”</b> · id {step.id}{forced}",
            f"step {step.number} · rank {step.rank + 1}",
            f"model (T = 1): p = {percent(step.p_model)}",
        ]
        t = self.view_temperature
        if abs(t - 1.0) > 1e-9:
            lines.append(f"chart (T = {t:.2f}): p = {percent(step.p_at(t))}")
        if step.sample is not None:
            drawn = float(step.sample.survivor_probs[step.sample.chosen_index])
            lines.append(
                f"drawn with p = {percent(drawn)} among {step.sample.survivor_ids.size} "
                "survivors of the sampling chain"
            )
        lines.append(
            f"surprisal {surprisal_bits(step):.2f} bits · entropy {entropy_bits(step):.2f} bits"
            " (T = 1)"
        )
        lines.append(f"top 5 (T = 1): {alternatives}")
        return "<br>".join(lines)
