"""Loading a model shows its stages and progress, and Cancel stops it with the model
loaded before still in place."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.core.llama.engine import Engine
from app.core.llama.load_progress import LoadCancelled, LoadProgress
from app.ui.main_window import MainWindow


def test_the_engine_reports_each_stage_and_the_weights_fraction(
    model_path: Path, tmp_path: Path
) -> None:
    fresh = tmp_path / "fresh-copy.gguf"  # never checked here: the probe stage runs
    os.link(model_path, fresh)
    seen: list[tuple[str, float | None]] = []
    with Engine(fresh, progress=LoadProgress(lambda s, f: seen.append((s, f)))):
        pass
    stages = [s for s, _ in seen]
    assert stages[0] == "Checking this new file in a separate process first"
    assert stages[-1] == "Creating the context"
    weights = [f for s, f in seen if s == "Loading the weights"]
    assert weights[0] == 0.0 and weights[-1] == 1.0 and weights == sorted(weights)
    assert len(weights) > 3  # a bar that moves, not a jump from 0 to done


def test_a_cancel_inside_llama_cpps_loader_stops_it(model_path: Path) -> None:
    progress = LoadProgress(lambda _s, _f: None)

    def report(stage: str, fraction: float | None) -> None:
        if fraction and fraction > 0.1:
            progress.cancel.set()  # as the Cancel button does, mid-read

    progress.report = report
    with pytest.raises(LoadCancelled):
        Engine(model_path, progress=progress)


def test_cancel_while_a_new_file_is_checked_keeps_the_loaded_model(
    qtbot: QtBot,
    model_path: Path,
    tmp_path: Path,
    workspace: Callable[[], MainWindow],
) -> None:
    window = workspace()
    before = window.model_label.text()
    fresh = tmp_path / "another-copy.gguf"
    os.link(model_path, fresh)
    window.load_model(str(fresh))
    qtbot.waitUntil(lambda: "Checking" in window.loading.stage.text(), timeout=30_000)
    assert window.loading.cancel_button.isVisible()
    qtbot.mouseClick(window.loading.cancel_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: not window.loading.isVisible(), timeout=30_000)
    assert window.model_label.text() == before  # the model loaded before is still there
    assert window.statusBar().currentMessage() == "Loading was cancelled"
    assert window.error_dialog is None  # a cancel is not an error
    assert window.workspace.generate_button.isEnabled()
