"""The window's model picker: the bundled model, the library's models, recent files (kept
in QSettings), then "Open GGUF file…"."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QWidget

from app.core.library.default_model import is_default_model
from app.core.library.library import LibraryEntry
from app.ui.window_store import window_store

DEFAULT_MODEL_LABEL = "Gemma 3 270M (bundled)"
OPEN_FILE_LABEL = "Open GGUF file…"  # its item's data is "": the picker asks for a file
RECENT_MODELS = 8


class ModelPicker(QComboBox):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.entries: list[LibraryEntry] = []
        self._server: tuple[str, str] | None = None  # (label, URL) of a connected server
        self._settings = window_store()
        self.setMinimumWidth(260)
        self.setToolTip("The model every tab uses (drop a .gguf file here too)")
        self.fill()

    def recent_models(self) -> list[str]:
        value = self._settings.value("models/recent", [])
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [str(v) for v in values if Path(str(v)).is_file() and not is_default_model(str(v))]

    def remember(self, spec: str) -> None:
        """`spec` was loaded: first among the recent files (the bundled model is always
        listed)."""
        if spec != "default":
            recent = [spec, *[p for p in self.recent_models() if p != spec]][:RECENT_MODELS]
            self._settings.setValue("models/recent", recent)
            self.fill()
        self.select(spec)

    def set_entries(self, entries: list[LibraryEntry]) -> None:
        self.entries = entries
        self.fill()

    def lists(self, path: Path) -> bool:
        return any(e.path.resolve() == path.resolve() for e in self.entries)

    def fill(self) -> None:
        current = self.currentData()
        self.blockSignals(True)
        self.clear()
        if self._server is not None:
            self.addItem(*self._server)
        self.addItem(DEFAULT_MODEL_LABEL, "default")
        listed = set()
        for entry in self.entries:
            if entry.source == "bundled" or entry.error:
                continue
            listed.add(str(entry.path))
            self.addItem(f"{entry.name} · {entry.quantization}", str(entry.path))
            self.setItemData(self.count() - 1, str(entry.path), Qt.ItemDataRole.ToolTipRole)
        for path in self.recent_models():
            if path not in listed:
                self.addItem(Path(path).name, path)
        self.addItem(OPEN_FILE_LABEL, "")
        if current:
            self.select(str(current))
        self.blockSignals(False)

    def select_server(self, label: str, url: str) -> None:
        """The server the window is connected to: listed first, selected."""
        self._server = (label, url)
        self.fill()
        self.select(url)

    def select(self, spec: str) -> None:
        index = self.findData(spec)
        if index >= 0:
            self.setCurrentIndex(index)
