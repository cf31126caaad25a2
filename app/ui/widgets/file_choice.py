"""Asking the user for a GGUF model file, the same way everywhere."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtWidgets import QFileDialog, QWidget

GGUF_FILTER = "GGUF models (*.gguf)"


def choose_gguf(parent: QWidget, title: str) -> Path | None:
    """The file the user picked (starting in their home folder), or None."""
    name, _filter = QFileDialog.getOpenFileName(parent, title, str(Path.home()), GGUF_FILTER)
    return Path(name) if name else None
