"""File → Connect to a server…: the address as a teacher writes it, a bad one refused in
words, the address remembered and the key never written anywhere."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QSettings
from pytestqt.qtbot import QtBot

from app.ui.connect_dialog import URL_SETTING, ConnectDialog


def test_addresses_keys_and_what_is_remembered(qtbot: QtBot, tmp_path: Path) -> None:
    store = QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat)
    dialog = ConnectDialog(store, None)
    qtbot.addWidget(dialog)
    for bad in ("", "ftp://host:21", "http://host:port", "   "):
        dialog.url_edit.setText(bad)
        dialog._accept()
        assert "is not a server address" in dialog.error_label.text(), bad
        assert dialog.result() != ConnectDialog.DialogCode.Accepted
    dialog.url_edit.setText(" 10.0.0.5:8080/ ")
    dialog.key_edit.setText("class-secret")
    dialog._accept()
    assert dialog.result() == ConnectDialog.DialogCode.Accepted
    assert (dialog.url, dialog.api_key) == ("http://10.0.0.5:8080", "class-secret")
    store.sync()
    written = (tmp_path / "settings.ini").read_text()
    assert store.value(URL_SETTING) == "http://10.0.0.5:8080"
    assert "class-secret" not in written

    again = ConnectDialog(store, None)
    qtbot.addWidget(again)
    assert again.url_edit.text() == "http://10.0.0.5:8080" and again.key_edit.text() == ""
