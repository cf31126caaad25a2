"""The course's picks (models/catalog.toml) as a table: model, kind, license, why."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QTableWidgetItem, QVBoxLayout, QWidget

from app.core.errors import PlaygroundError
from app.core.library.catalog import CatalogEntry, load_catalog
from app.ui.widgets.item_table import item_table
from app.ui.widgets.license_text import license_cell


class CoursePicksView(QWidget):
    sig_selected = Signal(str, str)
    """(repo id, the file the catalog recommends)."""

    def __init__(self) -> None:
        super().__init__()
        self.entries: list[CatalogEntry] = []
        self.table = item_table(["Model", "Kind", "License", "Why it is here"], 3)
        self.table.setAccessibleName("The course's model picks")
        self.table.setWordWrap(True)
        self.table.itemSelectionChanged.connect(self._on_selection)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        self.reload()

    def reload(self) -> None:
        try:
            self.entries = load_catalog()
        except PlaygroundError as exc:
            self.entries = []
            self.table.setRowCount(1)
            self.table.setItem(0, 0, QTableWidgetItem(str(exc)))
            return
        self.table.setRowCount(len(self.entries))
        for row, entry in enumerate(self.entries):
            name = QTableWidgetItem(entry.repo)
            name.setToolTip(f"{entry.repo}\nrecommended file: {entry.file}")
            why = QTableWidgetItem(entry.why)
            why.setToolTip(entry.why + (f"\nPairs with: {entry.pair}" if entry.pair else ""))
            text, tip = license_cell(entry.license, entry.repo)
            licence = QTableWidgetItem(text)
            licence.setToolTip(tip)
            cells = (name, QTableWidgetItem(entry.kind), licence, why)
            for column, item in enumerate(cells):
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()

    def _on_selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.entries):
            entry = self.entries[rows[0].row()]
            self.sig_selected.emit(entry.repo, entry.file)
