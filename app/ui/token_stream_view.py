"""Generated text as tokens: each token's span alternates background at BPE boundaries."""

from __future__ import annotations

from PySide6.QtGui import QColor, QFont, QTextCharFormat, QTextCursor
from PySide6.QtWidgets import QTextEdit, QWidget

from app.core.token_step import TokenStep
from app.core.utf8_stream import Utf8Stream

BOUNDARY_COLORS = (QColor("#dbeafe"), QColor("#fde68a"))
PROMPT_COLOR = QColor("#4b5563")


class TokenStreamView(QTextEdit):
    """Read-only text: the prompt in grey, then the generated tokens, colour-banded."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setReadOnly(True)
        font = QFont("DejaVu Sans Mono")
        font.setStyleHint(QFont.StyleHint.Monospace)
        font.setPointSize(12)
        self.setFont(font)
        self.steps: list[TokenStep] = []
        self._utf8 = Utf8Stream()

    def start(self, prompt: str) -> None:
        self.clear()
        self.steps = []
        self._utf8 = Utf8Stream()
        fmt = QTextCharFormat()
        fmt.setForeground(PROMPT_COLOR)
        self._cursor_end().insertText(prompt, fmt)

    def _cursor_end(self) -> QTextCursor:
        cursor = self.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        return cursor

    def append_step(self, step: TokenStep, is_eog: bool) -> None:
        self.steps.append(step)
        if is_eog:
            return
        text = self._utf8.push(step.piece)
        if not text:
            return  # an unfinished character: shown with the token that completes it
        fmt = QTextCharFormat()
        fmt.setBackground(BOUNDARY_COLORS[len(self.steps) % 2])
        fmt.setToolTip(f"id {step.id} · p = {step.p:.4f} · rank {step.rank + 1}")
        self._cursor_end().insertText(text, fmt)
        self.ensureCursorVisible()

    def finish(self) -> None:
        tail = self._utf8.flush()
        if tail:
            self._cursor_end().insertText(tail)

    @property
    def generated_text(self) -> str:
        return self._utf8.text
