"""The window opens before the model, loads it on the engine thread, and generates."""

from __future__ import annotations

from pathlib import Path

from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow


def _window(qtbot: QtBot, spec: str) -> MainWindow:
    window = MainWindow(spec)
    qtbot.addWidget(window)
    window.show()
    return window


def test_generates_greedy_tokens_with_boundaries(qtbot: QtBot, model_path: Path) -> None:
    window = _window(qtbot, str(model_path))
    assert not window.generate_button.isEnabled()  # the window is up before the model
    qtbot.waitUntil(lambda: window.generate_button.isEnabled(), timeout=60_000)
    assert "Gemma 3" in window.model_label.text()
    window.max_tokens.setValue(12)
    window.generate_button.click()
    qtbot.waitUntil(lambda: "tokens/s" in window.speed_label.text(), timeout=60_000)
    assert len(window.stream_view.steps) == 12
    assert window.top_table.rowCount() == 10
    assert "tokens/s" in window.speed_label.text()
    text = window.stream_view.toPlainText()
    assert text.startswith("Detective Jameson")
    assert window.stream_view.generated_text in text
    grab = window.grab()
    assert grab.width() > 800
    window.close()


def test_stop_leaves_the_app_usable(qtbot: QtBot, model_path: Path) -> None:
    window = _window(qtbot, str(model_path))
    qtbot.waitUntil(lambda: window.generate_button.isEnabled(), timeout=60_000)
    window.max_tokens.setValue(2000)
    window.generate_button.click()
    qtbot.waitUntil(lambda: len(window.stream_view.steps) >= 3, timeout=60_000)
    window.stop_button.click()
    qtbot.waitUntil(lambda: "stopped: cancelled" in window.speed_label.text(), timeout=60_000)
    assert window.generate_button.isEnabled()
    assert len(window.stream_view.steps) < 2000
    window.close()


def test_bad_model_file_is_reported(qtbot: QtBot, tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 40)
    window = _window(qtbot, str(bad))
    qtbot.waitUntil(lambda: "Could not load" in window.model_label.text(), timeout=30_000)
    assert "broken.gguf" in window.model_label.text()
    assert not window.generate_button.isEnabled()
    window.close()


def test_app_icon_has_every_size() -> None:
    from app.ui.resources import ICON_SIZES, app_icon

    icon = app_icon()
    assert not icon.isNull()
    assert sorted(s.width() for s in icon.availableSizes()) == sorted(ICON_SIZES)
