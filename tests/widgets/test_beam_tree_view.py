"""The beam search tree on its own, fed a recorded search step by step: every candidate is
a box in its step's column, joined to its parent, labelled with its token and log p;
pruned candidates are dimmed, the best path highlighted, and clearing starts over."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QPointF
from PySide6.QtWidgets import QGraphicsLineItem, QGraphicsRectItem, QGraphicsSimpleTextItem
from pytestqt.qtbot import QtBot

from app.core.decoding.step_records import BeamNode
from app.core.runs.run_record import RunRecord
from app.ui.widgets.beam_tree_view import BeamTreeView


@pytest.fixture
def tree(qtbot: QtBot) -> BeamTreeView:
    widget = BeamTreeView()
    qtbot.addWidget(widget)
    widget.resize(900, 420)
    widget.show()
    return widget


def grow(tree: BeamTreeView, nodes: list[BeamNode]) -> None:
    """Add the nodes as the search reports them: one step of candidates at a time."""
    for _step, group in itertools.groupby(nodes, key=lambda n: n.step):
        tree.add_nodes(list(group))


def label(tree: BeamTreeView, node_id: int) -> str:
    (text,) = [
        c for c in tree.boxes[node_id].childItems() if isinstance(c, QGraphicsSimpleTextItem)
    ]
    return text.text()


def shown(piece: bytes) -> str:
    return piece.decode("utf-8").replace(" ", "␣").replace("\n", "↵")


def test_every_candidate_is_a_box_in_its_steps_column(
    tree: BeamTreeView, beam_run: RunRecord
) -> None:
    nodes = beam_run.beam_nodes
    grow(tree, nodes)
    assert sorted(tree.nodes) == [n.node_id for n in nodes]
    boxes = [i for i in tree.scene().items() if isinstance(i, QGraphicsRectItem)]
    assert len(boxes) == len(nodes) + 1  # and the prompt's
    for node in nodes:
        assert label(tree, node.node_id) == f"{shown(node.piece)}\n{node.logprob:.2f}"
        tip = tree.boxes[node.node_id].toolTip()
        assert f"“{shown(node.piece)}” · log p {node.logprob:.3f}" in tip
        assert f"path log p {node.score:.3f}" in tip
        assert ("pruned" in tip) == (not node.kept)

    # One column per step, left to right; the candidates of a step stacked in it.
    lefts = {n.node_id: tree.boxes[n.node_id].rect().left() for n in nodes}
    columns = [
        {lefts[n.node_id] for n in group}
        for _step, group in itertools.groupby(nodes, key=lambda n: n.step)
    ]
    assert all(len(column) == 1 for column in columns)
    xs = [column.pop() for column in columns]
    assert xs == sorted(xs) and len(set(xs)) == len(xs)
    for _step, group in itertools.groupby(nodes, key=lambda n: n.step):
        tops = [tree.boxes[n.node_id].rect().top() for n in group]
        assert len(set(tops)) == len(tops)

    # Each candidate hangs from its parent (the first step's from the prompt).
    edges = {
        (line.line().p1().toPoint().toTuple(), line.line().p2().toPoint().toTuple())
        for line in tree.scene().items()
        if isinstance(line, QGraphicsLineItem)
    }
    assert len(edges) == len(nodes)
    prompt = next(b for b in boxes if b.toolTip() == "" and b not in tree.boxes.values())
    for node in nodes:
        parent = tree.boxes[node.parent] if node.parent >= 0 else prompt
        start = parent.rect().topRight() + QPointF(0, parent.rect().height() / 2)
        rect = tree.boxes[node.node_id].rect()
        end = rect.topLeft() + QPointF(0, rect.height() / 2)
        assert (start.toPoint().toTuple(), end.toPoint().toTuple()) in edges


def test_pruned_candidates_are_dimmed_and_the_best_path_highlighted(
    tree: BeamTreeView, beam_run: RunRecord
) -> None:
    nodes = beam_run.beam_nodes
    path = beam_run.beam_path
    grow(tree, nodes)
    for node in nodes:
        assert tree.is_dimmed(node.node_id) == (not node.kept)
    assert {n.node_id for n in nodes if not n.kept} != set()
    fill_before = {n.node_id: tree.boxes[n.node_id].brush().color().name() for n in nodes}

    tree.highlight_path(path)
    assert tree.best_path == path
    # The path reads the run's text, one token per step.
    assert [tree.nodes[i].token for i in path] == [s.id for s in beam_run.steps]
    assert [tree.nodes[i].step for i in path] == list(range(len(beam_run.steps)))
    on_path = {tree.boxes[i].brush().color().name() for i in path}
    assert len(on_path) == 1
    (best,) = on_path
    for node in nodes:
        box = tree.boxes[node.node_id]
        if node.node_id in path:
            assert not tree.is_dimmed(node.node_id) and best != fill_before[node.node_id]
        else:
            assert box.brush().color().name() == fill_before[node.node_id] != best
            assert tree.is_dimmed(node.node_id) == (not node.kept)


def test_clearing_the_tree_starts_over(
    qtbot: QtBot, tree: BeamTreeView, beam_run: RunRecord
) -> None:
    grow(tree, beam_run.beam_nodes)
    tree.highlight_path(beam_run.beam_path)
    tree.clear_tree()
    assert tree.nodes == {} and tree.boxes == {} and tree.best_path == []
    items = tree.scene().items()
    assert [i for i in items if isinstance(i, QGraphicsLineItem)] == []
    (prompt,) = [i for i in items if isinstance(i, QGraphicsRectItem)]
    (text,) = [c for c in prompt.childItems() if isinstance(c, QGraphicsSimpleTextItem)]
    assert text.text() == "prompt"

    # A new search is drawn from the first column again.
    first_step = [n for n in beam_run.beam_nodes if n.step == 0]
    tree.add_nodes(first_step)
    second = BeamTreeView()
    qtbot.addWidget(second)
    second.add_nodes(first_step)
    assert [tree.boxes[n.node_id].rect() for n in first_step] == [
        second.boxes[n.node_id].rect() for n in first_step
    ]
