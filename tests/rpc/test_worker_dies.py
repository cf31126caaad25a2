"""A worker that dies mid-run: the run ends with llama.cpp's message, what was generated
stays, and the app goes on (the CLI: one line, exit 1; the window: the model loaded again
with every layer here once the user agrees)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from pytestqt.qtbot import QtBot
from rpc_helpers import start_worker

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.llama import abort_guard
from app.core.settings import RuntimeSettings, SettingsStore
from app.ui.main_window import MainWindow

PROMPT = "Once upon a time"
TIMEOUT_MS = 120_000


def test_the_cli_ends_with_one_line(tmp_path: Path) -> None:
    started = [start_worker(tmp_path / "a.log"), start_worker(tmp_path / "b.log")]
    workers = ",".join(endpoint for _p, endpoint in started)
    try:
        run = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "app",
                "generate",
                "--model",
                "default",
                "--prompt",
                PROMPT,
                "--max-tokens",
                "4000",
                "--ctx",
                "4096",
                "--rpc",
                workers,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        time.sleep(4)  # loaded, decoding
        assert run.poll() is None
        started[1][0].send_signal(signal.SIGKILL)
        _out, err = run.communicate(timeout=60)
        assert run.returncode == 1, err
        assert "llm-playground: error: llama.cpp stopped:" in err
        assert "Traceback" not in err and "backtrace" not in err.lower()
    finally:
        for process, _endpoint in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)


def test_the_window_ends_the_run_and_offers_the_model_back(
    qtbot: QtBot, model_path: Path, tmp_path: Path
) -> None:
    abort_guard.install()
    started = [start_worker(tmp_path / "a.log"), start_worker(tmp_path / "b.log")]
    try:
        win = MainWindow(str(model_path))
        qtbot.addWidget(win)
        win.show()
        ws = win.workspace
        qtbot.waitUntil(ws.generate_button.isEnabled, timeout=TIMEOUT_MS)
        workers = tuple(endpoint for _p, endpoint in started)
        win.apply_settings(RuntimeSettings(n_ctx=2048, repack=False, rpc_workers=workers))
        qtbot.waitUntil(lambda: "2 RPC workers" in win.model_label.text(), timeout=TIMEOUT_MS)
        qtbot.waitUntil(ws.generate_button.isEnabled, timeout=TIMEOUT_MS)
        ws.prompt_edit.setPlainText(PROMPT)
        ws.decoding.apply(DecodingSettings(mode="greedy", max_tokens=2000))
        ws.generate_button.click()
        qtbot.waitUntil(
            lambda: ws.record is not None and len(ws.record.steps) >= 5, timeout=TIMEOUT_MS
        )
        os.kill(started[0][0].pid, signal.SIGKILL)
        qtbot.waitUntil(lambda: not ws.running, timeout=TIMEOUT_MS)
        assert ws.record is not None and len(ws.record.steps) >= 5  # what came stays
        assert "stopped" in win.statusBar().currentMessage()
        qtbot.waitUntil(lambda: win.reload_offer is not None, timeout=10_000)
        assert win.reload_offer is not None
        assert "without the RPC workers" in win.reload_offer.text()
        assert win.loaded_model is None and not ws.generate_button.isEnabled()
        win.reload_offer.accept()
        qtbot.waitUntil(ws.generate_button.isEnabled, timeout=TIMEOUT_MS)
        assert "RPC" not in win.model_label.text()
        assert win.settings_store.settings.rpc_workers == ()
        ws.decoding.apply(DecodingSettings(mode="greedy", max_tokens=4))
        ws.generate_button.click()
        qtbot.waitUntil(lambda: not ws.running and ws.record is not None, timeout=TIMEOUT_MS)
        assert ws.record is not None and len(ws.record.steps) == 4  # the app goes on
    finally:
        SettingsStore.load().save(RuntimeSettings())  # the defaults, for later tests' windows
        for process, _endpoint in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
