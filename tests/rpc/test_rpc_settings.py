"""Settings → RPC workers with a real worker: added and checked, an absent one refused in
words, both remembered in the settings the window applies."""

from __future__ import annotations

from pytestqt.qtbot import QtBot
from rpc_helpers import free_port

from app.core.llama.llama_runtime import backend_info
from app.core.settings import RuntimeSettings
from app.ui.settings_dialog import SettingsDialog


def test_workers_are_checked_when_added(qtbot: QtBot, workers: tuple[str, str]) -> None:
    dialog = SettingsDialog(RuntimeSettings(), backend_info(), 18, 2)
    qtbot.addWidget(dialog)
    panel = dialog.rpc
    panel.address.setText(workers[0])
    panel.add()
    qtbot.waitUntil(
        lambda: panel.list.count() == 1 and "protocol 7.0.0" in panel.list.item(0).text()
    )
    assert panel.list.item(0).text().startswith(f"{workers[0]} · 1 device · ")
    absent = f"127.0.0.1:{free_port()}"
    panel.address.setText(absent)
    panel.add()
    qtbot.waitUntil(lambda: "no RPC worker answers" in panel.status.text(), timeout=6000)
    assert panel.list.count() == 1
    panel.address.setText("host:port")
    panel.add()
    assert "port must be a number" in panel.status.text()
    dialog.repack.setChecked(False)
    chosen = dialog.settings()
    assert chosen.rpc_workers == (workers[0],) and chosen.repack is False
    assert chosen.engine_config().rpc_workers == (workers[0],)

    again = SettingsDialog(chosen, backend_info(), 18, 2)
    qtbot.addWidget(again)
    qtbot.waitUntil(lambda: "protocol 7.0.0" in again.rpc.list.item(0).text())
