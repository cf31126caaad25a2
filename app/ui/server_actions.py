"""The window's server menu items: connect to a class server, serve the loaded model to
the class, and the status-bar strip that shows the address served and stops it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QStatusBar, QWidget

from app.core.errors import PlaygroundError
from app.ui.connect_dialog import ConnectDialog
from app.ui.serve_dialog import ClassServer, ServeDialog


class ServerActions:
    def __init__(
        self,
        parent: QWidget,
        store: QSettings,
        status: QStatusBar,
        busy: Callable[[], bool],
        connect: Callable[[str, str | None], None],
        local_model: Callable[[], Path | None],
        show_error: Callable[[str, str], None],
    ) -> None:
        self._parent = parent
        self._store = store
        self._status = status
        self._busy = busy
        self._connect = connect
        self._local_model = local_model
        self._show_error = show_error
        self.api_key: str | None = None  # a server's, for this session only
        self.class_server = ClassServer(parent)
        self.class_server.sig_ready.connect(self._on_serving)
        self.class_server.sig_ended.connect(self._on_ended)
        self.strip = QWidget()
        row = QHBoxLayout(self.strip)
        row.setContentsMargins(0, 0, 0, 0)
        self.serve_label = QLabel("")
        self.stop_button = QPushButton("Stop serving")
        self.stop_button.clicked.connect(self.stop_serving)
        row.addWidget(self.serve_label)
        row.addWidget(self.stop_button)
        self.strip.setVisible(False)
        status.addPermanentWidget(self.strip)

    # ---- connecting ------------------------------------------------------------------
    def connect_dialog(self) -> ConnectDialog | None:
        """Ask for a server's address and key, then connect (the current model stays
        loaded and usable if the server cannot be reached)."""
        if self._busy():
            self._status.showMessage("Stop the running generation first", 5000)
            return None
        dialog = ConnectDialog(self._store, self.api_key, self._parent)
        dialog.accepted.connect(lambda: self.connect(dialog.url, dialog.api_key))
        dialog.open()
        return dialog

    def connect(self, url: str, api_key: str | None) -> None:
        self.api_key = api_key
        self._connect(url, api_key)

    # ---- serving -------------------------------------------------------------------
    def serve_dialog(self) -> ServeDialog | None:
        model = self._local_model()
        if self.class_server.serving:
            self._status.showMessage("Already serving: stop it first", 5000)
            return None
        if model is None:
            self._status.showMessage("Load a model on this computer to serve it", 5000)
            return None
        dialog = ServeDialog(model, self._parent)
        dialog.accepted.connect(lambda: self.serve(dialog))
        dialog.open()
        return dialog

    def serve(self, dialog: ServeDialog) -> None:
        options = dialog.options()
        try:
            self.class_server.start(options)
        except PlaygroundError as exc:
            self._show_error("The model could not be served", str(exc))
            return
        self.serve_label.setText(f"Starting llama-server on {options.model.name}…")
        self.stop_button.setEnabled(True)
        self.strip.setVisible(True)

    def _on_serving(self, address: str) -> None:
        if self.class_server.serving:
            self.serve_label.setText(f"Serving the class at {address}")

    def _on_ended(self, reason: str) -> None:
        self.class_server.stop()
        self.strip.setVisible(False)
        if reason:
            self._show_error("The class server stopped", reason)

    def stop_serving(self) -> None:
        self.class_server.stop()
        self.strip.setVisible(False)
        self._status.showMessage("llama-server stopped", 5000)

    def close(self) -> None:
        self.class_server.stop()
