"""Search the Hub: a query, a sort order, and the matching GGUF repositories with the
columns the Hub's own list shows (name, author, downloads, likes, updated, access)."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.hub.hub_client import HubModel, SortKey
from app.core.units import format_age, format_count, printable
from app.ui.widgets.item_table import item_table, number_item
from app.ui.widgets.license_text import license_cell
from app.ui.widgets.theme import set_status_style, status_color

SORTS: list[tuple[str, SortKey]] = [
    ("Most downloaded", "downloads"),
    ("Most liked", "likes"),
    ("Recently updated", "updated"),
]


def _license_item(model: HubModel) -> QTableWidgetItem:
    text, tip = license_cell(model.license, model.repo_id)
    item = QTableWidgetItem(text)
    item.setToolTip(tip)
    return item


class HubSearchPanel(QWidget):
    sig_search = Signal(str, str)
    """(text, sort key) the user asked for."""
    sig_selected = Signal(str)
    """(repo id) of the chosen result."""

    def __init__(self) -> None:
        super().__init__()
        self.results: list[HubModel] = []
        self.search_edit = QLineEdit()
        self.search_edit.setAccessibleName("Search the Hub for GGUF models")
        self.search_edit.setPlaceholderText(
            "Search GGUF models on the Hugging Face Hub (e.g. qwen 0.5b)"
        )
        self.search_edit.returnPressed.connect(self.request)
        self.sort_box = QComboBox()
        for label, key in SORTS:
            self.sort_box.addItem(label, key)
        self.sort_box.activated.connect(lambda _i: self.request())
        search_button = QPushButton("Search")
        search_button.clicked.connect(self.request)
        row = QHBoxLayout()
        row.addWidget(self.search_edit, 1)
        row.addWidget(self.sort_box)
        row.addWidget(search_button)
        self.table = item_table(
            ["Model", "Author", "Downloads", "Likes", "Updated", "Access", "License"], 0
        )
        self.table.setAccessibleName("Hub search results")
        self.table.itemSelectionChanged.connect(self._on_selection)
        self.status = QLabel("Search the Hub, or start from the course picks.")
        self.status.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.table, 1)
        layout.addWidget(self.status)

    def request(self) -> None:
        self.sig_search.emit(self.search_edit.text(), self.sort_box.currentData())

    def show_searching(self) -> None:
        self.status.setText("Searching the Hub…")
        set_status_style(self.status, "")

    def show_error(self, message: str) -> None:
        self.status.setText(message)
        set_status_style(self.status, "error")

    def show_results(self, found: list[HubModel]) -> None:
        self.results = found
        self.table.setRowCount(len(found))
        for row, model in enumerate(found):
            name = QTableWidgetItem(printable(model.name))
            name.setToolTip(printable(model.repo_id))
            access = QTableWidgetItem("gated" if model.gated else "open")
            if model.gated:
                access.setForeground(status_color("warning"))
                access.setToolTip("Needs an accepted licence and an access token to download")
            stamp = int(model.last_modified.timestamp()) if model.last_modified else 0
            cells = (
                name,
                QTableWidgetItem(model.author),
                number_item(format_count(model.downloads), model.downloads),
                number_item(format_count(model.likes), model.likes),
                number_item(format_age(model.last_modified), stamp),
                access,
                _license_item(model),
            )
            for column, item in enumerate(cells):
                self.table.setItem(row, column, item)
        self.status.setText(
            f"{len(found)} GGUF repositories" if found else "No GGUF repositories match."
        )

    def _on_selection(self) -> None:
        rows = self.table.selectionModel().selectedRows()
        if rows and rows[0].row() < len(self.results):
            self.sig_selected.emit(self.results[rows[0].row()].repo_id)
