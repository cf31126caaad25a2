"""A Hub repository: its facts, its GGUF files grouped by quantization with a fit estimate
for this machine, and the Download button."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.gguf.memory_fit import SystemMemory, Verdict, estimate, fit_for
from app.core.gguf.quant_files import QuantGroup, group_files
from app.core.hub.hub_client import RepoDetails
from app.core.units import format_age, format_bytes, format_count, printable
from app.ui.widgets.item_table import item_table, number_item
from app.ui.widgets.license_text import license_html
from app.ui.widgets.theme import set_status_style, status_color
from app.ui.window_store import window_store

FIT_KINDS: dict[Verdict, str] = {"fits": "ok", "tight": "warning", "won't fit": "error"}
HF_CACHE_SETTING = "models/into_hf_cache"


class RepoFilesPanel(QWidget):
    sig_download = Signal(object)
    """(QuantGroup) the user wants downloaded."""
    sig_token = Signal()
    """The user wants to give an access token (gated repositories)."""

    def __init__(self) -> None:
        super().__init__()
        self.details: RepoDetails | None = None
        self.groups: list[QuantGroup] = []
        self.title = QLabel("")
        self.title.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        font = self.title.font()
        font.setPointSizeF(font.pointSizeF() * 1.3)
        font.setBold(True)
        self.title.setFont(font)
        self.facts = QLabel("")
        self.facts.setWordWrap(True)
        self.facts.setTextFormat(Qt.TextFormat.RichText)
        self.facts.setOpenExternalLinks(True)
        self.note = QLabel("")
        self.note.setWordWrap(True)
        set_status_style(self.note, "warning")
        self.token_button = QPushButton("Hub token…")
        self.token_button.setToolTip(
            "Give the app a Hugging Face access token (kept by the Hub client)"
        )
        self.token_button.clicked.connect(self.sig_token.emit)

        self.table = item_table(["Quantization", "File", "Size", "This machine"], 1)
        self.table.setAccessibleName("The repository's GGUF files")
        self.table.itemSelectionChanged.connect(self._update_button)
        self.table.doubleClicked.connect(lambda _index: self._download())

        self.download_button = QPushButton("Download")
        self.download_button.setDefault(True)
        self.download_button.clicked.connect(self._download)
        store = window_store()
        self.into_hf_cache = QCheckBox("Keep in the Hugging Face cache")
        self.into_hf_cache.setToolTip(
            "Save the download in the Hugging Face cache (HF_HUB_CACHE), where llama.cpp's "
            "-hf, transformers and other tools find it too; otherwise it goes to the app's "
            "own models folder"
        )
        self.into_hf_cache.setChecked(bool(store.value(HF_CACHE_SETTING, False, type=bool)))
        self.into_hf_cache.toggled.connect(lambda on: window_store().setValue(HF_CACHE_SETTING, on))
        buttons = QHBoxLayout()
        buttons.addWidget(self.token_button)
        buttons.addStretch(1)
        buttons.addWidget(self.into_hf_cache)
        buttons.addWidget(self.download_button)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.facts)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)
        layout.addLayout(buttons)
        self.show_message("")

    def show_message(self, title: str, message: str = "") -> None:
        """A repository that is loading, or could not be read."""
        self.details = None
        self.groups = []
        self.title.setText(title)
        self.facts.setText(html.escape(message))
        self.note.setVisible(False)
        self.token_button.setVisible(False)
        self.table.setRowCount(0)
        self._update_button()

    def show_repo(
        self,
        details: RepoDetails,
        memory: SystemMemory,
        vram: tuple[int, int] = (0, 0),
        gpu_share: float = 0.0,
        preferred: str = "",
    ) -> None:
        self.details = details
        self.groups = group_files(details.files)
        self.title.setText(printable(details.repo_id))
        facts = [
            f"License: {license_html(details.license, details.repo_id)}",
            f"{format_count(details.downloads)} downloads",
            f"{format_count(details.likes)} likes",
            f"updated {format_age(details.last_modified)}",
        ]
        self.facts.setText(" · ".join(facts[1:]) + "<br>" + facts[0])
        gated = details.gated is not None
        self.note.setVisible(gated or not self.groups)
        self.token_button.setVisible(gated)
        if gated:
            self.note.setText(
                "Gated: accept the conditions on the repository's Hub page while logged in, "
                "then give the app an access token (Hub token…)."
            )
        elif not self.groups:
            self.note.setText("This repository has no GGUF files llama.cpp can load.")
        self.table.setRowCount(len(self.groups))
        select = 0
        for row, group in enumerate(self.groups):
            recommended = row == 0 and group.complete
            quant = QTableWidgetItem(("★ " if recommended else "") + group.quant)
            if recommended:
                quant.setToolTip("Recommended: Q4_K_M when there is one, as llama.cpp picks")
            name = QTableWidgetItem(printable(group.label))
            name.setToolTip("\n".join(printable(f.path) for f in group.files))
            size = number_item(format_bytes(group.size), group.size)
            need = estimate(group.size, gpu_share=gpu_share)
            verdict = fit_for(need, memory, *vram) if group.complete else "won't fit"
            fit = QTableWidgetItem(verdict if group.complete else "incomplete")
            fit.setForeground(QBrush(status_color(FIT_KINDS[verdict])))
            fit.setToolTip(
                f"Needs about {format_bytes(need.total)} with a short context "
                f"(this machine: {format_bytes(memory.total)} RAM, "
                f"{format_bytes(memory.available)} free"
                + (f"; {format_bytes(vram[0])} VRAM" if vram[0] else "")
                + ")"
            )
            for column, item in enumerate((quant, name, size, fit)):
                self.table.setItem(row, column, item)
            if preferred and any(f.path == preferred for f in group.files):
                select = row
        if self.groups:
            self.table.selectRow(select)
        self._update_button()

    def selected_group(self) -> QuantGroup | None:
        rows = self.table.selectionModel().selectedRows()
        if not rows or not self.groups:
            return None
        return self.groups[rows[0].row()]

    def _update_button(self) -> None:
        group = self.selected_group()
        self.download_button.setEnabled(group is not None and group.complete)
        if group is not None:
            self.download_button.setText(f"Download {group.quant} ({format_bytes(group.size)})")
        else:
            self.download_button.setText("Download")

    def _download(self) -> None:
        group = self.selected_group()
        if group is not None and group.complete:
            self.sig_download.emit(group)
