"""The Beam search tab: the tree equals the engine's own search."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.decoding.beam_search import beam_search
from app.core.llama.engine import Engine
from app.ui.main_window import MainWindow

Workspace = Callable[[], MainWindow]


def test_tree_equals_the_engines_beam_search(
    qtbot: QtBot,
    workspace: Workspace,
    engine: Engine,
    capsys: pytest.CaptureFixture[str],
) -> None:
    window = workspace()
    window.resize(1400, 860)
    view = window.beam_view
    window.tabs.setCurrentWidget(view)
    view.width_spin.setValue(3)
    view.max_tokens.setValue(6)
    view.run_button.click()
    assert view.running and not window.workspace.generate_button.isEnabled()
    qtbot.waitUntil(lambda: not view.running, timeout=120_000)
    assert window.workspace.generate_button.isEnabled()

    reference = beam_search(
        engine, engine.tokenize_prompt(view.prompt_edit.toPlainText()), view.settings()
    )
    tree = view.tree
    assert len(tree.nodes) == len(reference.nodes)
    for node in reference.nodes:
        drawn = tree.nodes[node.node_id]
        assert (drawn.token, drawn.parent, drawn.kept) == (node.token, node.parent, node.kept)
        assert drawn.logprob == pytest.approx(node.logprob, abs=1e-9)
        assert tree.is_dimmed(node.node_id) == (
            not node.kept and node.node_id not in tree.best_path
        )
    pruned = {n.node_id for n in reference.nodes if not n.kept}
    assert pruned == {i for i, n in tree.nodes.items() if not n.kept}
    best_tokens = [tree.nodes[i].token for i in tree.best_path]
    assert best_tokens == reference.best.ids
    finished = view.finished
    assert finished is not None
    assert [h.text for h in finished.hypotheses] == [h.text for h in reference.hypotheses]
    assert reference.best.text in view.hypotheses.text()

    path = Path(tempfile.gettempdir()) / "llm-playground-beam-tree.png"
    assert window.grab().save(str(path), "PNG")
    with capsys.disabled():
        print(f"\nbeam tree screenshot: {path}")
