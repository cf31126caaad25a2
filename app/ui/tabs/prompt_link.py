"""One prompt for the tabs that run the model: typing in the Workspace, Compare or Beam
search changes it in the others, so switching tabs never runs a stale prompt."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QPlainTextEdit


class PromptLink(QObject):
    def __init__(self, edits: Sequence[QPlainTextEdit], parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._edits = list(edits)
        self._copying = False
        for edit in self._edits:
            edit.textChanged.connect(lambda e=edit: self._on_changed(e))

    def _on_changed(self, source: QPlainTextEdit) -> None:
        if self._copying:
            return
        text = source.toPlainText()
        self._copying = True
        try:
            for edit in self._edits:
                if edit is not source and edit.toPlainText() != text:
                    edit.setPlainText(text)
        finally:
            self._copying = False
