"""File → Serve this model to the class…: llama-server on the loaded model, from the
window, as `llm-playground serve` runs it; the status bar shows the address students type
in and a Stop button. The server ends with the window (and with the app if it is killed).
"""

from __future__ import annotations

import secrets
import threading
from pathlib import Path

from PySide6.QtCore import QObject, QTimer, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.core import paths
from app.core.backends.server_process import (
    ServeOptions,
    ServerProcess,
    check_options,
    lan_addresses,
)
from app.core.errors import PlaygroundError
from app.ui.window_parts import add_checked_buttons


class ServeDialog(QDialog):
    def __init__(self, model: Path, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Serve this model to the class")
        self._model = model
        form = QFormLayout(self)
        intro = QLabel(
            f"Run llama-server on <b>{model.name}</b>. Students choose File → Connect to a "
            "server… and type the address shown in the status bar."
        )
        intro.setWordWrap(True)
        form.addRow(intro)
        self.port = QSpinBox(minimum=1024, maximum=65535, value=8080)
        form.addRow("Port", self.port)
        self.parallel = QSpinBox(minimum=1, maximum=64, value=4)
        self.parallel.setToolTip("Requests served at once; more wait their turn")
        form.addRow("Requests at once", self.parallel)
        self.share = QCheckBox("Let other computers connect (needs a key)")
        form.addRow(self.share)
        self.key = QLineEdit()
        self.key.setPlaceholderText("the key students type in")
        generate = QPushButton("New key")
        generate.clicked.connect(lambda: self.key.setText(secrets.token_urlsafe(9)))
        key_row = QHBoxLayout()
        key_row.addWidget(self.key, 1)
        key_row.addWidget(generate)
        form.addRow("API key", key_row)
        self.error_label = add_checked_buttons(self, form, "Serve", self._accept)

    def options(self) -> ServeOptions:
        return ServeOptions(
            self._model,
            host="0.0.0.0" if self.share.isChecked() else "127.0.0.1",
            port=self.port.value(),
            parallel=self.parallel.value(),
            api_key=self.key.text().strip() or None,
        )

    def _accept(self) -> None:
        if self.share.isChecked() and not self.key.text().strip():
            self.error_label.setText(
                "Other computers may connect only with a key: type one or press New key, "
                "and give it to the students"
            )
            return
        try:
            check_options(self.options())
        except PlaygroundError as exc:
            self.error_label.setText(str(exc))
            return
        self.accept()


class ClassServer(QObject):
    """One llama-server started from the window. Started on the UI thread (the kernel
    ends it with the thread that started it); readiness is waited for on a thread."""

    sig_ready = Signal(str)
    """The address students connect to."""
    sig_ended = Signal(str)
    """Why it is no longer serving ("" when stopped from the window)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.process: ServerProcess | None = None
        self._watch = QTimer(self)
        self._watch.setInterval(1000)
        self._watch.timeout.connect(self._check)

    @property
    def serving(self) -> bool:
        return self.process is not None

    def start(self, options: ServeOptions) -> None:
        """Raises PlaygroundError when it cannot start (no server built, bad options)."""
        process = ServerProcess(options, log=paths.log_dir() / "llama-server.log")
        self.process = process

        def wait() -> None:
            try:
                process.wait_ready()
            except PlaygroundError as exc:
                self.sig_ended.emit(f"{exc} (its log: {process.log_path})")
                return
            self.sig_ready.emit(_address(options))

        threading.Thread(target=wait, name="serve-ready", daemon=True).start()
        self._watch.start()

    def _check(self) -> None:
        if self.process is not None and not self.process.running:
            self.process = None
            self._watch.stop()
            self.sig_ended.emit("llama-server ended on its own: see its log")

    def stop(self) -> None:
        self._watch.stop()
        process, self.process = self.process, None
        if process is not None:
            process.stop()


def _address(options: ServeOptions) -> str:
    hosts = lan_addresses(options.host)
    return " or ".join(f"http://{f'[{h}]' if ':' in h else h}:{options.port}" for h in hosts)
