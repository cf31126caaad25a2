"""Beam search drawn as a tree that grows one step at a time.

Columns are steps; each node is a candidate token with its log-probability. Candidates
that became beams are solid, pruned ones dimmed, ends of generation outlined; when the
search ends, the best hypothesis's path is highlighted.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF
from PySide6.QtGui import QBrush, QPainter, QPen
from PySide6.QtWidgets import (
    QGraphicsItem,
    QGraphicsRectItem,
    QGraphicsScene,
    QGraphicsSimpleTextItem,
    QGraphicsView,
    QWidget,
)

from app.core.decoding.step_records import BeamNode
from app.ui.widgets import palette
from app.ui.widgets.theme import fixed_font
from app.ui.widgets.token_text import visible_piece

NODE_W = 118
NODE_H = 30
COLUMN_GAP = 46
ROW_GAP = 8
PRUNED_OPACITY = 0.4
LABEL_CHARS = 12


class BeamTreeView(QGraphicsView):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setScene(QGraphicsScene(self))
        self.setRenderHint(QPainter.RenderHint.Antialiasing)
        self.setDragMode(QGraphicsView.DragMode.ScrollHandDrag)
        self._font = fixed_font(8)
        self.nodes: dict[int, BeamNode] = {}
        self.boxes: dict[int, QGraphicsRectItem] = {}
        self._edges: dict[int, QGraphicsItem] = {}
        self._rows: dict[int, int] = {}  # step -> nodes placed in its column
        self._first_step: int | None = None
        self.best_path: list[int] = []
        self.clear_tree()

    def clear_tree(self) -> None:
        self.scene().clear()
        self.nodes = {}
        self.boxes = {}
        self._edges = {}
        self._rows = {}
        self._first_step = None
        self.best_path = []
        root = self.scene().addRect(
            QRectF(0, 0, NODE_W * 0.6, NODE_H), QPen(palette.ROOT_EDGE), QBrush(palette.ROOT_FILL)
        )
        label = QGraphicsSimpleTextItem("prompt", root)
        label.setFont(self._font)
        label.setPos(8, NODE_H / 2 - label.boundingRect().height() / 2)
        self._root = root

    def add_nodes(self, nodes: list[BeamNode]) -> None:
        """One more step of the search: its candidates, kept or pruned."""
        for node in nodes:
            if self._first_step is None:
                self._first_step = node.step
            self.nodes[node.node_id] = node
            self._place(node)
        self.scene().setSceneRect(self.scene().itemsBoundingRect().adjusted(-10, -10, 10, 10))
        if nodes:
            last = self.boxes[nodes[-1].node_id]
            self.ensureVisible(last, 40, 40)

    def _column_x(self, step: int) -> float:
        first = self._first_step if self._first_step is not None else step
        return NODE_W * 0.6 + COLUMN_GAP + (step - first) * (NODE_W + COLUMN_GAP)

    def _place(self, node: BeamNode) -> None:
        row = self._rows.get(node.step, 0)
        self._rows[node.step] = row + 1
        x = self._column_x(node.step)
        y = row * (NODE_H + ROW_GAP)
        edge_color = (
            palette.FINISHED_EDGE
            if node.finished
            else palette.KEPT_EDGE
            if node.kept
            else palette.PRUNED_EDGE
        )
        box = self.scene().addRect(
            QRectF(x, y, NODE_W, NODE_H),
            QPen(edge_color, 1.6 if node.kept else 1.0),
            QBrush(palette.KEPT_FILL if node.kept else palette.PRUNED_FILL),
        )
        piece = visible_piece(node.piece)
        if len(piece) > LABEL_CHARS:
            piece = piece[: LABEL_CHARS - 1] + "…"
        text = QGraphicsSimpleTextItem(f"{piece}\n{node.logprob:.2f}", box)
        text.setFont(self._font)
        text.setPos(x + 6, y + 1)
        box.setToolTip(
            f"“{visible_piece(node.piece)}” · log p {node.logprob:.3f} · "
            f"path log p {node.score:.3f}"
            + (" · became a beam" if node.kept and not node.finished else "")
            + (" · ended the sequence" if node.finished else "")
            + ("" if node.kept else " · pruned")
        )
        if not node.kept:
            box.setOpacity(PRUNED_OPACITY)
        self.boxes[node.node_id] = box
        parent_box = self.boxes.get(node.parent, self._root)
        start = parent_box.rect().topRight() + QPointF(0, NODE_H / 2)
        end = QPointF(x, y + NODE_H / 2)
        edge = self.scene().addLine(
            start.x(), start.y(), end.x(), end.y(), QPen(edge_color, 1.2 if node.kept else 0.8)
        )
        edge.setZValue(-1)
        if not node.kept:
            edge.setOpacity(PRUNED_OPACITY)
        self._edges[node.node_id] = edge

    def highlight_path(self, path: list[int]) -> None:
        """The best hypothesis, from its first token to its last."""
        self.best_path = list(path)
        for node_id in path:
            box = self.boxes.get(node_id)
            if box is not None:
                box.setBrush(QBrush(palette.BEST_FILL))
                box.setPen(QPen(palette.BEST_EDGE, 2.4))
                box.setOpacity(1.0)
            edge = self._edges.get(node_id)
            if edge is not None and hasattr(edge, "setPen"):
                edge.setPen(QPen(palette.BEST_EDGE, 2.6))
                edge.setOpacity(1.0)

    def is_dimmed(self, node_id: int) -> bool:
        return self.boxes[node_id].opacity() < 1.0
