"""The status bar's view of a model being loaded: the stage, its progress and Cancel."""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QWidget

STEPS = 1000


class LoadStatus(QWidget):
    cancel_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.stage = QLabel("")
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setMaximumWidth(140)
        self.bar.setAccessibleName("Model loading progress")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop loading; the model loaded before stays")
        self.cancel_button.setAccessibleName("Cancel loading the model")
        self.cancel_button.clicked.connect(self._cancel)
        for widget in (self.stage, self.bar, self.cancel_button):
            layout.addWidget(widget)
        self.setVisible(False)

    def start(self, cancellable: bool = True) -> None:
        self.stage.setText("")
        self.bar.setRange(0, 0)
        self.cancel_button.setEnabled(True)
        self.cancel_button.setVisible(cancellable)
        self.setVisible(True)

    def report(self, stage: str, fraction: float | None) -> None:
        self.stage.setText(stage)
        if fraction is None:
            self.bar.setRange(0, 0)  # busy: a stage with no measure of its own
            self.bar.setAccessibleDescription(stage)
        else:
            self.bar.setRange(0, STEPS)
            self.bar.setValue(round(fraction * STEPS))
            self.bar.setAccessibleDescription(f"{stage}: {fraction:.0%}")

    def finish(self) -> None:
        self.setVisible(False)

    def _cancel(self) -> None:
        self.cancel_button.setEnabled(False)
        self.stage.setText("Cancelling…")
        self.cancel_requested.emit()
