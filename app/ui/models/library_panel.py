"""The local library: every model on this machine, with Load, Delete and Import."""

from __future__ import annotations

from PySide6.QtCore import Signal, SignalInstance
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.library.library import SOURCE_LABELS, LibraryEntry
from app.core.units import format_bytes
from app.ui.widgets.item_table import item_table, number_item
from app.ui.widgets.theme import status_color

COLUMNS = ["Model", "Quantization", "Architecture", "Size", "Source"]


class LibraryPanel(QWidget):
    sig_selected = Signal(object)
    """(LibraryEntry | None)."""
    sig_load = Signal(object)
    sig_delete = Signal(object)
    sig_import = Signal()
    sig_refresh = Signal()

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[LibraryEntry] = []
        self.table = item_table(COLUMNS, 0)
        self.table.setAccessibleName("Models on this computer")
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.table.doubleClicked.connect(lambda _index: self._emit(self.sig_load))
        self.summary = QLabel("")
        self.load_button = QPushButton("Load")
        self.delete_button = QPushButton("Delete…")
        import_button = QPushButton("Import GGUF…")
        refresh_button = QPushButton("Refresh")
        self.load_button.clicked.connect(lambda: self._emit(self.sig_load))
        self.delete_button.clicked.connect(lambda: self._emit(self.sig_delete))
        import_button.clicked.connect(self.sig_import.emit)
        refresh_button.clicked.connect(self.sig_refresh.emit)
        buttons = QHBoxLayout()
        buttons.addWidget(self.summary, 1)
        for button in (refresh_button, import_button, self.delete_button, self.load_button):
            buttons.addWidget(button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self._on_selection()

    def show_entries(self, entries: list[LibraryEntry]) -> None:
        selected = self.selected()
        self.entries = entries
        self.table.setRowCount(len(entries))
        for row, entry in enumerate(entries):
            name = QTableWidgetItem(entry.name if not entry.error else entry.path.name)
            name.setToolTip(
                str(entry.path)
                + (f"\n{entry.repo_id}" if entry.repo_id else "")
                + (f"\nCannot be read: {entry.error}" if entry.error else "")
            )
            if entry.error:
                name.setForeground(status_color("error"))
            size = number_item(format_bytes(entry.size), entry.size)
            cells = (
                name,
                QTableWidgetItem(entry.quantization),
                QTableWidgetItem(entry.architecture),
                size,
                QTableWidgetItem(SOURCE_LABELS[entry.source]),
            )
            for column, item in enumerate(cells):
                self.table.setItem(row, column, item)
            if selected is not None and entry.path == selected.path:
                self.table.selectRow(row)
        total = sum(e.size for e in entries)
        noun = "model" if len(entries) == 1 else "models"
        self.summary.setText(f"{len(entries)} {noun} · {format_bytes(total)} on disk")
        self._on_selection()

    def selected(self) -> LibraryEntry | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self.entries):
            return None
        return self.entries[rows[0].row()]

    def select_path(self, path: str) -> None:
        for row, entry in enumerate(self.entries):
            if str(entry.path) == path:
                self.table.selectRow(row)
                return

    def _on_selection(self) -> None:
        entry = self.selected()
        self.load_button.setEnabled(entry is not None and entry.error is None)
        self.delete_button.setEnabled(entry is not None and entry.source != "bundled")
        self.delete_button.setText(
            "Forget" if entry is not None and entry.source == "imported" else "Delete…"
        )
        self.sig_selected.emit(entry)

    def _emit(self, signal: SignalInstance) -> None:
        entry = self.selected()
        if entry is not None:
            signal.emit(entry)
