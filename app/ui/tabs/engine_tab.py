"""What every tab that runs the engine shares: one engine serves them all, so a tab is
idle only when the model is ready, it is not running, and no other tab is."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSplitter, QVBoxLayout, QWidget

from app.workers.engine_worker import EngineWorker


class EngineTab(QWidget):
    busy_changed = Signal(bool)
    """A run of this tab started (True) or ended (False)."""

    def __init__(
        self,
        worker: EngineWorker,
        next_request_id: Callable[[], int],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._worker = worker
        self._next_id = next_request_id  # ids are unique across the tabs
        self._request = -1
        self._running = False
        self._model_ready = False
        self._external_busy = False

    @property
    def running(self) -> bool:
        return self._running

    @property
    def idle(self) -> bool:
        """The engine is free for this tab."""
        return self._model_ready and not self._running and not self._external_busy

    def set_model_ready(self, ready: bool) -> None:
        self._model_ready = ready
        self._update_actions()

    def set_external_busy(self, busy: bool) -> None:
        """Another tab is running the engine."""
        self._external_busy = busy
        self._update_actions()

    def _lay_out(
        self,
        prompt: QWidget,
        bar: QHBoxLayout,
        main: QWidget,
        side: QWidget,
        sizes: tuple[int, int],
        legend: QLabel | None = None,
    ) -> None:
        """The prompt, the tab's controls, then its main view (with `legend` under it)
        beside a side panel (3:1)."""
        if legend is not None:
            legend.setTextFormat(Qt.TextFormat.RichText)
            legend.setWordWrap(True)
            column = QWidget()
            stack = QVBoxLayout(column)
            stack.setContentsMargins(0, 0, 0, 0)
            stack.addWidget(main, 1)
            stack.addWidget(legend)
            main = column
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(main)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes(list(sizes))
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Prompt"))
        layout.addWidget(prompt)
        layout.addLayout(bar)
        layout.addWidget(splitter, 1)

    def _update_actions(self) -> None:
        """Enable what can be done now (each tab its own buttons)."""

    def _begin(self) -> None:
        self._running = True
        self._update_actions()
        self.busy_changed.emit(True)

    def _end(self) -> None:
        self._running = False
        self._update_actions()
        self.busy_changed.emit(False)

    def stop(self) -> None:
        if self._running:
            self._worker.stop()
