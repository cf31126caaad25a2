"""`llm-playground --smoke-test`: the installed app, end to end, without a screen.

Opens the main window (offscreen unless a platform is chosen), waits for the default
model, generates 8 greedy tokens in the workspace, prints one summary line and exits 0;
a failure prints one line to stderr and exits 1. Release checks run it on the frozen
bundle (packaging/smoke_test.py) and on the desktop entry's Exec line.
"""

from __future__ import annotations

import sys
import time

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication

from app.ui.main_window import MainWindow

TOKENS = 8
TIMEOUT_S = 300.0


def run_smoke_test(app: QApplication, window: MainWindow) -> int:
    started = time.monotonic()
    outcome: dict[str, object] = {}
    workspace = window.workspace
    state = {"generating": False}

    def poll() -> None:
        if time.monotonic() - started > TIMEOUT_S:
            outcome["error"] = f"timed out after {TIMEOUT_S:.0f} s"
        elif window.error_dialog is not None and window.error_dialog.isVisible():
            outcome["error"] = window.error_dialog.text().replace("\n", " ")
        elif not state["generating"]:
            if workspace.generate_button.isEnabled():
                mode = workspace.decoding.mode_box
                mode.setCurrentIndex(mode.findData("greedy"))
                workspace.decoding.max_tokens.setValue(TOKENS)
                workspace.start_generation()
                state["generating"] = True
        elif not workspace.running and workspace.record is not None:
            outcome["record"] = workspace.record
        if outcome:
            timer.stop()
            window.close()
            app.quit()

    timer = QTimer()
    timer.timeout.connect(poll)
    timer.start(50)
    app.exec()
    if "error" in outcome:
        sys.stderr.write(f"smoke test failed: {outcome['error']}\n")
        return 1
    record = outcome.get("record")
    steps = len(record.steps) if record is not None else 0  # type: ignore[attr-defined]
    if record is None or steps != TOKENS:
        sys.stderr.write(f"smoke test failed: generated {steps} tokens, expected {TOKENS}\n")
        return 1
    loaded = window.loaded_model
    summary = (
        f"smoke test passed: {loaded.name if loaded else '?'} · {steps} tokens · "
        f"{record.stats.tokens_per_second:.1f} tokens/s · "  # type: ignore[attr-defined]
        f"{loaded.device if loaded else '?'} · {time.monotonic() - started:.1f} s in all"
    )
    if sys.stdout is not None:
        sys.stdout.write(summary + "\n")
        sys.stdout.flush()
    return 0
