"""A first start on a fresh machine: the library lists the bundled model as soon as it is
ready, without Refresh; opening the bundled model by its path does not list it twice."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.library.default_model import default_model_path
from app.ui.main_window import MainWindow


def test_the_library_lists_the_bundled_model_once_it_is_assembled(
    qtbot: QtBot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LLM_PLAYGROUND_DATA_DIR", str(tmp_path / "data"))
    window = MainWindow("default")
    qtbot.addWidget(window)
    window.show()
    panel = window.models.library_panel
    qtbot.waitUntil(lambda: window.workspace.generate_button.isEnabled(), timeout=120_000)
    qtbot.waitUntil(lambda: any(e.source == "bundled" for e in panel.entries), timeout=30_000)
    assert "1 model" in panel.summary.text(), panel.summary.text()


def test_the_bundled_model_opened_by_its_path_is_listed_once(
    qtbot: QtBot, model_path: Path
) -> None:
    bundled = default_model_path()
    window = MainWindow(str(bundled))
    qtbot.addWidget(window)
    window.show()
    qtbot.waitUntil(lambda: window.workspace.generate_button.isEnabled(), timeout=120_000)
    picker = window.model_picker
    specs = [picker.itemData(i) for i in range(picker.count())]
    assert specs.count("default") == 1 and str(bundled) not in specs
    assert picker.currentData() == "default"
