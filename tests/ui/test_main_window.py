"""The window opens before the model and reports a model it cannot load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow


def test_window_opens_before_the_model_loads(
    qtbot: QtBot, model_path: Path, new_window: Callable[[str], MainWindow]
) -> None:
    window = new_window(str(model_path))
    assert not window.workspace.generate_button.isEnabled()  # the window is up before the model
    assert window.loading.isVisible() and window.loading.cancel_button.isVisible()
    assert window.workspace.prompt_edit.toPlainText().startswith("Detective Jameson")
    fractions: list[float] = []
    window.loading.bar.valueChanged.connect(lambda v: fractions.append(v))
    qtbot.waitUntil(lambda: window.workspace.generate_button.isEnabled(), timeout=90_000)
    assert "Gemma 3" in window.model_label.text()
    assert not window.loading.isVisible()


def test_bad_model_file_is_reported(
    qtbot: QtBot, tmp_path: Path, new_window: Callable[[str], MainWindow]
) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 40)
    window = new_window(str(bad))
    qtbot.waitUntil(lambda: "Could not load" in window.model_label.text(), timeout=30_000)
    assert "broken.gguf" in window.model_label.text()
    assert window.error_dialog is not None and "broken.gguf" in window.error_dialog.text()
    assert not window.workspace.generate_button.isEnabled()


def test_app_icon_has_every_size() -> None:
    from app.desktop_entry import ICON_SIZES
    from app.ui.resources import app_icon

    icon = app_icon()
    assert not icon.isNull()
    assert sorted(s.width() for s in icon.availableSizes()) == sorted(ICON_SIZES)
