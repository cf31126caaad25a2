"""Generation under stress: start/stop at random moments, a model switch and new settings
while a run is going, the window closed mid-run. No crash, no leaked thread, memory back
to where it was."""

from __future__ import annotations

import gc
import os
import random
from collections.abc import Callable
from pathlib import Path

import psutil
from pytestqt.qtbot import QtBot

from app.core.settings import RuntimeSettings
from app.ui.main_window import MainWindow

CYCLES = 1000 if os.environ.get("LLM_PLAYGROUND_STRESS") == "full" else 200


def _rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def test_start_stop_cycles(
    qtbot: QtBot,
    workspace: Callable[[], MainWindow],
    run_tokens: Callable[[MainWindow, int], None],
) -> None:
    window = workspace()
    ws = window.workspace
    ws.decoding.max_tokens.setValue(64)
    rng = random.Random(3)
    baseline = threads = 0
    for cycle in range(CYCLES):
        if cycle == 20:  # after warm-up: every thread and buffer a run uses exists
            baseline, threads = _rss(), psutil.Process().num_threads()
        ws.start_generation()
        qtbot.wait(rng.randint(0, 40))
        window.stop()
        qtbot.waitUntil(lambda: not ws.running, timeout=30_000)
    grown = _rss() - baseline
    print(f"\n{CYCLES} start/stop cycles; RSS grew {grown / 1e6:.1f} MB after the first 20")
    assert grown < 40e6
    assert psutil.Process().num_threads() == threads
    run_tokens(window, 8)
    assert ws.record is not None and len(ws.record.steps) == 8


def test_switching_model_and_settings_mid_run(
    qtbot: QtBot, workspace: Callable[[], MainWindow], chat_model_path: Path
) -> None:
    window = workspace()
    ws = window.workspace
    loaded = window.loaded_model
    ws.decoding.max_tokens.setValue(400)
    ws.start_generation()
    qtbot.waitUntil(lambda: ws.record is not None and len(ws.record.steps) > 3, timeout=30_000)
    window.load_model(str(chat_model_path))  # refused while a run is going
    assert not window.model_picker.isEnabled() and window.loaded_model is loaded
    window.apply_settings(RuntimeSettings(n_ctx=2048))  # stops the run, then reloads
    qtbot.waitUntil(lambda: not ws.running and not window._loading_spec, timeout=90_000)
    assert window.loaded_model is not None and window.loaded_model.n_ctx == 2048
    window.load_model(str(chat_model_path))
    qtbot.waitUntil(lambda: not window._loading_spec, timeout=90_000)
    assert window.loaded_model is not None and window.loaded_model.path == chat_model_path
    window.apply_settings(RuntimeSettings())
    qtbot.waitUntil(lambda: not window._loading_spec, timeout=90_000)


def test_closing_the_window_mid_run(qtbot: QtBot, model_path: Path) -> None:
    threads = psutil.Process().num_threads()
    for _ in range(3):
        window = MainWindow(str(model_path))
        qtbot.addWidget(window)
        window.show()
        ws = window.workspace
        qtbot.waitUntil(ws.generate_button.isEnabled, timeout=90_000)
        ws.decoding.max_tokens.setValue(500)
        ws.start_generation()

        def running(ws: object = ws) -> bool:
            record = ws.record  # type: ignore[attr-defined]
            return record is not None and len(record.steps) > 2

        qtbot.waitUntil(running, timeout=30_000)
        window.close()  # stops the run and ends the window's threads
        assert not window._engine.thread.isRunning()
    assert psutil.Process().num_threads() <= threads + 2  # llama.cpp's OpenMP team
