"""The Workspace's Layers and Attention views: a selected step is looked into on the
inspection thread and shown, the newest selection wins, and a model on a server says why
it cannot be looked into."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow


def _run(qtbot: QtBot, window: MainWindow, prompt: str, tokens: int) -> None:
    ws = window.workspace
    ws.prompt_edit.setPlainText(prompt)
    ws.decoding.max_tokens.setValue(tokens)
    ws.start_generation()
    qtbot.waitUntil(lambda: not ws.running and ws.has_steps, timeout=60_000)


def test_layers_view_shows_where_the_answer_forms(
    qtbot: QtBot, workspace: Callable[[], MainWindow]
) -> None:
    window = workspace()
    ws = window.workspace
    _run(qtbot, window, "The capital of France is", 3)
    ws.select_step(0)
    ws.side_tabs.setCurrentWidget(ws.inside.layers)
    layers = ws.inside.layers
    qtbot.waitUntil(lambda: layers.lens is not None, timeout=60_000)
    lens = layers.lens
    assert lens is not None and lens.chosen.id == ws.record.steps[0].id  # type: ignore[union-attr]
    assert layers.table.rowCount() == 18
    assert layers.table.item(0, 0).text() == "18"  # the last layer on top
    assert layers.title.text().startswith("Step 1: “␣the”")
    assert "logit lens (raw)" in layers.caveat.text()
    # Paris leads at layer 13 (row 5 counted from the top, the last layer first).
    assert layers.table.item(18 - 13, 1).text().startswith("␣Paris 74")
    ws.select_step(2)  # another step: looked into again
    qtbot.waitUntil(lambda: layers.title.text().startswith("Step 3"), timeout=60_000)


def test_attention_view_grid_enlarges_on_click(
    qtbot: QtBot, workspace: Callable[[], MainWindow]
) -> None:
    window = workspace()
    ws = window.workspace
    _run(qtbot, window, "The capital of France is", 2)
    ws.select_step(1)
    ws.side_tabs.setCurrentWidget(ws.inside.attention)
    view = ws.inside.attention
    qtbot.waitUntil(lambda: view.maps is not None, timeout=60_000)
    maps = view.maps
    assert maps is not None and len(view.cells) == 18 * 4
    assert len(maps.pieces) == 7  # <bos> + 5 prompt tokens + the first generated one
    assert "share 1 key/value head" in view.legend.text()
    cell = view.cells[(5, 2)]
    assert "full attention" in cell.toolTip() and "layer 6, head 3" in cell.toolTip()
    assert "sliding window 512" in view.cells[(0, 0)].toolTip()
    qtbot.mouseClick(cell, Qt.MouseButton.LeftButton)
    assert view.big_caption.text().startswith("Layer 6, head 3")
    assert "full attention" in view.big_caption.text()
    assert cell.selected and not view.cells[(0, 0)].selected
    # A weight of 0 (a later token) is the colour map's darkest; the first token's is bright.
    dark = view.cell_color(5, 2, 0, 6)
    assert dark.lightness() < view.cell_color(5, 2, 6, 0).lightness()


def test_a_model_on_a_server_says_it_cannot_be_looked_into() -> None:
    import pytest

    from app.core.llama.graph_capture import InspectionError
    from app.workers.inspection_worker import InspectorSlot

    slot = InspectorSlot()
    with pytest.raises(InspectionError, match="no model is loaded"):
        slot.get()
    slot.set_engine(object())  # what a connection to llama-server puts in the engine's place
    with pytest.raises(InspectionError, match="not one on a server"):
        slot.get()
