"""Broken model files opened in the window: an error dialog each time, the window and
the loaded model stay, generation still works."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from fakehub.broken_gguf import cases
from fakehub.gguf_files import loadable_tiny_gguf
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow

PICKS = {
    "truncated-at-24",
    "magic-b'GGML'",
    "version-4",
    "tensor-count-2147483648",
    "general.architecture:string-past-end",
    "token_embd.weight:offset-past-end",
    "output.weight:type-99",
}


def test_broken_files_never_take_the_window_down(
    qtbot: QtBot,
    tmp_path: Path,
    workspace: Callable[[], MainWindow],
    run_tokens: Callable[[MainWindow, int], None],
) -> None:
    window = workspace()
    loaded = window.loaded_model
    assert loaded is not None
    files = [(n, d) for n, d in cases(loadable_tiny_gguf(), random_flips=0) if n in PICKS]
    files.append(("crashes-llama-cpp", loadable_tiny_gguf(byte_tokens=False)))
    assert len(files) == len(PICKS) + 1
    for index, (name, data) in enumerate(files):
        path = tmp_path / f"broken-{index}.gguf"
        path.write_bytes(data)
        window.error_dialog = None
        window.load_model(str(path))
        qtbot.waitUntil(lambda: window.error_dialog is not None, timeout=60_000)
        dialog = window.error_dialog
        assert dialog is not None and "could not be loaded" in dialog.windowTitle(), name
        assert "still loaded and ready" in dialog.text(), name
        dialog.close()
        assert window.loaded_model is loaded, name
    run_tokens(window, 4)
    record = window.workspace.record
    assert record is not None and len(record.steps) == 4
