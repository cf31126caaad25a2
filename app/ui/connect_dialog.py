"""File → Connect to a server…: a llama-server's address and, if it has one, its key.

The address is remembered; the key is not saved anywhere (it is kept for this session
only, or read from LLM_PLAYGROUND_API_KEY), so it never reaches a settings file, a
session or an export.
"""

from __future__ import annotations

import os

from PySide6.QtCore import QSettings
from PySide6.QtWidgets import (
    QDialog,
    QFormLayout,
    QLabel,
    QLineEdit,
    QWidget,
)

from app.core.backends.remote_engine import RemoteInfo
from app.ui.window_parts import add_checked_buttons

KEY_VARIABLE = "LLM_PLAYGROUND_API_KEY"
URL_SETTING = "server/url"
EXAMPLE_URL = "http://192.168.1.20:8080"


class ConnectDialog(QDialog):
    def __init__(self, store: QSettings, api_key: str | None, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Connect to a server")
        self._store = store
        form = QFormLayout(self)
        intro = QLabel(
            "Run the model on a llama-server that your teacher started with "
            "<code>llm‑playground&nbsp;serve</code>. Every view works on it; the chart shows "
            "the top 20 tokens the server sends and estimates the rest."
        )
        intro.setWordWrap(True)
        form.addRow(intro)
        self.url_edit = QLineEdit(str(store.value(URL_SETTING, "") or ""))
        self.url_edit.setPlaceholderText(EXAMPLE_URL)
        self.url_edit.setMinimumWidth(360)
        form.addRow("Server address", self.url_edit)
        self.key_edit = QLineEdit(api_key or os.environ.get(KEY_VARIABLE, ""))
        self.key_edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.key_edit.setPlaceholderText("only if the server asks for one")
        form.addRow("API key", self.key_edit)
        note = QLabel("The key is kept until the app closes, never saved.")
        note.setEnabled(False)
        form.addRow("", note)
        self.error_label = add_checked_buttons(self, form, "Connect", self._accept)

    @property
    def url(self) -> str:
        text = self.url_edit.text().strip()
        if text and "://" not in text:
            text = "http://" + text  # "host:8080" as a teacher writes it on the board
        return text.rstrip("/")

    @property
    def api_key(self) -> str | None:
        return self.key_edit.text().strip() or None

    def _accept(self) -> None:
        from urllib.parse import urlsplit

        url = self.url
        parts = urlsplit(url)
        try:
            parts.port  # noqa: B018 - raises on a port that is not a number
        except ValueError:
            parts = parts._replace(netloc="")
        if parts.scheme not in ("http", "https") or not parts.hostname:
            self.error_label.setText(
                f"“{self.url_edit.text().strip() or ' '}” is not a server address: "
                f"write it as {EXAMPLE_URL}"
            )
            return
        self._store.setValue(URL_SETTING, url)
        self.accept()


def describe_remote(info: RemoteInfo) -> str:
    """The server's model card, as the status bar's tooltip shows it."""
    lines = [
        f"Model: {info.model}",
        f"Server: llama-server at {info.address} (build {info.build or 'unknown'})",
        f"Slots: {info.slots} requests at once",
        f"Context: {info.n_ctx:,} tokens per request",
        f"Vocabulary: {info.n_vocab:,} tokens",
        "Chat template: " + ("yes (an instruct model)" if info.chat_template else "none"),
        "Each step shows the server's top 20 tokens exactly; the rest of the distribution "
        "is estimated (bounds drawn at T ≠ 1).",
    ]
    return "\n".join(lines)
