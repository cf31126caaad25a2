"""A workspace window with the real default model loaded on its engine thread."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow

LOAD_TIMEOUT_MS = 90_000


def open_window(qtbot: QtBot, spec: str) -> MainWindow:
    window = MainWindow(spec)
    qtbot.addWidget(window)
    window.show()
    return window


def wait_ready(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: window.workspace.generate_button.isEnabled(), timeout=LOAD_TIMEOUT_MS)


def generate(qtbot: QtBot, window: MainWindow, tokens: int) -> None:
    window.workspace.decoding.max_tokens.setValue(tokens)
    window.workspace.generate_button.click()
    qtbot.waitUntil(
        lambda: window.workspace.record is not None and not window.workspace.running,
        timeout=120_000,
    )


@pytest.fixture
def new_window(qtbot: QtBot) -> Callable[[str], MainWindow]:
    """A window starting to load `spec` (not waited for)."""
    return lambda spec: open_window(qtbot, spec)


@pytest.fixture
def run_tokens(qtbot: QtBot) -> Callable[[MainWindow, int], None]:
    """Generate N tokens in a window and wait for the run to end."""
    return lambda window, tokens: generate(qtbot, window, tokens)


@pytest.fixture
def workspace(qtbot: QtBot, model_path: Path) -> Callable[[], MainWindow]:
    def make() -> MainWindow:
        window = open_window(qtbot, str(model_path))
        wait_ready(qtbot, window)
        return window

    return make
