"""Settings → RPC workers: add and remove llama.cpp RPC workers (host:port), each checked
when added (its protocol version, devices and free memory, or why it cannot be used)."""

from __future__ import annotations

import threading

from PySide6.QtCore import QObject, Qt, Signal
from PySide6.QtWidgets import (
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import PlaygroundError
from app.core.llama.rpc_workers import SECURITY_WARNING, WorkerInfo, current_info, parse_endpoint
from app.core.units import format_bytes


class _Prober(QObject):
    sig_answered = Signal(str, object)
    """(endpoint, WorkerInfo or the message why it cannot be used)."""

    def probe(self, endpoint: str) -> None:
        def run() -> None:
            try:
                answer: WorkerInfo | str = current_info(endpoint)
            except PlaygroundError as exc:
                answer = str(exc)
            self.sig_answered.emit(endpoint, answer)

        threading.Thread(target=run, name="rpc-probe", daemon=True).start()


def describe_worker(info: WorkerInfo) -> str:
    devices = len(info.devices)
    return (
        f"{info.endpoint} · {devices} device{'s' if devices != 1 else ''} · "
        f"{format_bytes(info.memory_free)} free · protocol {'.'.join(map(str, info.version))}"
    )


class RpcWorkersPanel(QWidget):
    def __init__(self, workers: tuple[str, ...], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._prober = _Prober(self)
        self._prober.sig_answered.connect(self._on_answer)
        self._pending = ""  # the worker being added
        self.address = QLineEdit()
        self.address.setPlaceholderText("host:port, e.g. 10.0.0.5:50052")
        self.address.returnPressed.connect(self.add)
        self.add_button = QPushButton("Add")
        self.add_button.clicked.connect(self.add)
        self.remove_button = QPushButton("Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        self.list = QListWidget()
        self.list.setMaximumHeight(90)
        self.status = QLabel("")
        self.status.setWordWrap(True)
        note = QLabel(
            "Each worker holds some of the model's layers (`llm-playground rpc-worker` on "
            "that machine); the decode loop and every number stay here. " + SECURITY_WARNING
        )
        note.setWordWrap(True)
        note.setEnabled(False)
        row = QHBoxLayout()
        row.addWidget(self.address, 1)
        row.addWidget(self.add_button)
        row.addWidget(self.remove_button)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(row)
        layout.addWidget(self.list)
        layout.addWidget(self.status)
        layout.addWidget(note)
        for endpoint in workers:
            self._add_item(endpoint, "checking…")
            self._prober.probe(endpoint)

    @property
    def workers(self) -> tuple[str, ...]:
        return tuple(
            str(self.list.item(i).data(Qt.ItemDataRole.UserRole)) for i in range(self.list.count())
        )

    def _item(self, endpoint: str) -> QListWidgetItem | None:
        for i in range(self.list.count()):
            item = self.list.item(i)
            if item.data(Qt.ItemDataRole.UserRole) == endpoint:
                return item
        return None

    def _add_item(self, endpoint: str, text: str) -> None:
        item = QListWidgetItem(f"{endpoint} · {text}")
        item.setData(Qt.ItemDataRole.UserRole, endpoint)
        self.list.addItem(item)

    def add(self) -> None:
        text = self.address.text().strip()
        try:
            host, port = parse_endpoint(text)
        except PlaygroundError as exc:
            self.status.setText(str(exc))
            return
        endpoint = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        if self._item(endpoint) is not None:
            self.status.setText(f"{endpoint} is in the list already")
            return
        self.status.setText(f"Checking {endpoint}…")
        self.add_button.setEnabled(False)
        self._prober.probe(endpoint)
        self._pending = endpoint

    def _on_answer(self, endpoint: str, answer: object) -> None:
        item = self._item(endpoint)
        if isinstance(answer, WorkerInfo):
            if item is None:
                self._add_item(endpoint, "")
                item = self._item(endpoint)
                self.address.clear()
            assert item is not None
            item.setText(describe_worker(answer))
            self.status.setText(f"{endpoint} answered: it holds layers from the next load")
        elif item is not None:  # a listed worker that does not answer now
            item.setText(f"{endpoint} · not answering")
            self.status.setText(str(answer))
        else:
            self.status.setText(str(answer))
        if endpoint == self._pending:
            self.add_button.setEnabled(True)

    def remove_selected(self) -> None:
        for item in self.list.selectedItems():
            self.list.takeItem(self.list.row(item))
