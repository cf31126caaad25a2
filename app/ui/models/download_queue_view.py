"""The download queue: a row per job with progress, speed, time left, and its actions
(Cancel while queued or running; Resume after a cancel or a failure; Load when done)."""

from __future__ import annotations

from dataclasses import dataclass

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.hub.downloader import DownloadProgress
from app.core.units import format_bytes, format_duration
from app.ui.widgets.theme import set_status_style


@dataclass
class _Row:
    widget: QWidget
    label: QLabel
    bar: QProgressBar
    status: QLabel
    cancel: QPushButton
    resume: QPushButton
    load: QPushButton
    path: str = ""


class DownloadQueueView(QWidget):
    sig_cancel = Signal(int)
    sig_resume = Signal(int)
    sig_load = Signal(str)

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[int, _Row] = {}
        self.heading = QLabel("<b>Downloads</b>")
        self.empty = QLabel("Nothing downloading. Pick a model and a file, then Download.")
        self.empty.setStyleSheet("color: palette(mid);")
        self._list = QVBoxLayout()
        self._list.setSpacing(2)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addWidget(self.heading)
        layout.addWidget(self.empty)
        layout.addLayout(self._list)

    def add(self, job_id: int, label: str, total: int) -> None:
        widget = QWidget()
        name = QLabel(label)
        name.setMinimumWidth(220)
        bar = QProgressBar()
        bar.setRange(0, 1000)
        bar.setValue(0)
        bar.setTextVisible(True)
        bar.setFormat(f"0% of {format_bytes(total)}")
        status = QLabel("queued")
        status.setMinimumWidth(200)
        cancel = QPushButton("Cancel")
        resume = QPushButton("Resume")
        load = QPushButton("Load")
        row = _Row(widget, name, bar, status, cancel, resume, load)
        cancel.clicked.connect(lambda: self.sig_cancel.emit(job_id))
        resume.clicked.connect(lambda: self.sig_resume.emit(job_id))
        load.clicked.connect(lambda: self.sig_load.emit(row.path))
        line = QHBoxLayout(widget)
        line.setContentsMargins(0, 0, 0, 0)
        line.addWidget(name)
        line.addWidget(bar, 1)
        line.addWidget(status)
        for button in (cancel, resume, load):
            line.addWidget(button)
        resume.setVisible(False)
        load.setVisible(False)
        self.rows[job_id] = row
        self._list.addWidget(widget)
        self.empty.setVisible(False)

    def started(self, job_id: int) -> None:
        row = self.rows[job_id]
        row.status.setText("starting…")
        row.cancel.setVisible(True)
        row.resume.setVisible(False)

    def progress(self, job_id: int, p: DownloadProgress) -> None:
        row = self.rows[job_id]
        if p.note is not None:  # the Hub answered an error: retrying, or starting over
            row.status.setText(p.note if len(p.note) < 60 else p.note[:57] + "…")
            row.status.setToolTip(p.note)
            set_status_style(row.status, "warning")
            return
        if row.status.property("status_kind"):
            set_status_style(row.status, "")
        fraction = p.done / p.total if p.total else 0.0
        row.bar.setValue(int(1000 * fraction))
        row.bar.setFormat(f"{100 * fraction:.0f}% of {format_bytes(p.total)}")
        part = f"part {p.file_index}/{p.file_count} · " if p.file_count > 1 else ""
        row.status.setText(f"{part}{format_bytes(p.speed)}/s · {format_duration(p.eta)} left")

    def finished(self, job_id: int, path: str) -> None:
        row = self.rows[job_id]
        row.path = path
        row.bar.setValue(1000)
        row.bar.setFormat("100% · verified")
        row.status.setText("done, sha256 verified")
        row.cancel.setVisible(False)
        row.load.setVisible(True)

    def stopped(self, job_id: int, message: str, resumable: bool) -> None:
        row = self.rows[job_id]
        row.status.setText(message if len(message) < 60 else message[:57] + "…")
        row.status.setToolTip(message)
        set_status_style(row.status, "" if resumable else "error")
        row.cancel.setVisible(False)
        row.resume.setVisible(True)
        row.resume.setText("Resume" if resumable else "Retry")

    def paused(self, job_id: int, have: int, total: int) -> None:
        """A download an earlier run left unfinished."""
        row = self.rows[job_id]
        fraction = have / total if total else 0.0
        row.bar.setValue(int(1000 * fraction))
        row.bar.setFormat(f"{100 * fraction:.0f}% of {format_bytes(total)}")
        self.stopped(job_id, f"paused · {format_bytes(have)} on disk", True)

    def requeued(self, job_id: int) -> None:
        row = self.rows[job_id]
        row.status.setText("queued")
        set_status_style(row.status, "")
        row.status.setToolTip("")
        row.cancel.setVisible(True)
        row.resume.setVisible(False)
