"""The Attention view: a grid of small heat maps, one per layer and head, of the
attention weights over the text that chose the selected step; the last row (the token
that chose it) is outlined. A click enlarges a map with the token texts on its axes.
Heads that read the same key/value head (grouped-query attention) are marked, and
sliding-window layers show their window. The colour is √weight (an attention "sink" on
the first token would leave the rest invisible); the tooltips give the weights."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt
import pyqtgraph as pg
from PySide6.QtCore import QRectF, Qt, Signal
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPainter, QPaintEvent, QPalette, QPen
from PySide6.QtWidgets import QGridLayout, QLabel, QScrollArea, QVBoxLayout, QWidget

from app.core.inside.attention_maps import AttentionMaps
from app.ui.widgets import palette
from app.ui.widgets.layers_view import shown
from app.ui.widgets.theme import fixed_font

CELL = 64  # a small map's side, in pixels
_LUT = pg.colormap.get("viridis").getLookupTable(nPts=256, alpha=False).astype(np.uint8)


def heat_image(weights: npt.NDArray[np.float32]) -> QImage:
    """`weights` (n, n) as an n × n image, colour √weight (viridis)."""
    levels = np.clip(np.sqrt(np.clip(weights, 0.0, 1.0)) * 255.0, 0, 255).astype(np.uint8)
    rgb = np.ascontiguousarray(_LUT[levels])
    n_rows, n_cols = levels.shape
    image = QImage(rgb.data, n_cols, n_rows, 3 * n_cols, QImage.Format.Format_RGB888)
    return image.copy()  # owns its pixels: `rgb` goes away


class HeatMap(QWidget):
    clicked = Signal(int, int)
    """(layer, head), 0-based."""

    def __init__(self, layer: int, head: int, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.layer, self.head = layer, head
        self.image = QImage()
        self.selected = False
        self.setFixedSize(CELL, CELL)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def set_weights(self, weights: npt.NDArray[np.float32], describe: str) -> None:
        self.image = heat_image(weights)
        self.setToolTip(describe)
        self.setAccessibleName(describe)
        self.update()

    def mousePressEvent(self, event: QMouseEvent) -> None:
        self.clicked.emit(self.layer, self.head)

    def paintEvent(self, _event: QPaintEvent) -> None:
        painter = QPainter(self)
        if not self.image.isNull():
            painter.drawImage(QRectF(self.rect()), self.image)
            n = self.image.height()
            row = (n - 1) * self.height() / n  # the token that chose the step: last row
            painter.setPen(QPen(palette.SELECTED, 1.5))
            painter.drawRect(QRectF(0.5, row, self.width() - 1.0, self.height() / n))
        if self.selected:
            painter.setPen(QPen(self.palette().color(QPalette.ColorRole.Highlight), 3))
            painter.drawRect(self.rect().adjusted(1, 1, -2, -2))


class BigMap(QWidget):
    """One head's map, large, with the tokens on both axes (rows attend to columns)."""

    LABELS = 110  # the width given to the row labels

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.image = QImage()
        self.pieces: tuple[str, ...] = ()
        self.font_ = fixed_font(8)
        self.setFixedHeight(250)
        self.setAccessibleName("The selected head's attention, enlarged")

    def show_map(self, weights: npt.NDArray[np.float32], pieces: tuple[str, ...]) -> None:
        self.image, self.pieces = heat_image(weights), pieces
        self.update()

    def paintEvent(self, _event: QPaintEvent) -> None:
        if self.image.isNull():
            return
        painter = QPainter(self)
        painter.setFont(self.font_)
        n = len(self.pieces)
        side = min(self.width() - self.LABELS - 4, self.height() - self.LABELS - 4)
        if side <= 0 or n == 0:
            return
        left, top = self.LABELS, 2
        painter.drawImage(QRectF(left, top, side, side), self.image)
        cell = side / n
        step = max(1, int(np.ceil(12 / cell)))  # a label every `step` tokens: no overlap
        text = self.palette().color(QPalette.ColorRole.WindowText)
        painter.setPen(text)
        for i in range(0, n, step):
            label = shown(self.pieces[i])[:14]
            y = top + (i + 0.5) * cell
            painter.drawText(QRectF(0, y - 7, left - 4, 14), Qt.AlignmentFlag.AlignRight, label)
            painter.save()
            painter.translate(left + (i + 0.5) * cell + 4, top + side + 4)
            painter.rotate(90)
            painter.drawText(QRectF(0, -7, self.LABELS - 8, 14), Qt.AlignmentFlag.AlignLeft, label)
            painter.restore()
        painter.setPen(QPen(palette.SELECTED, 2))
        painter.drawRect(QRectF(left, top + (n - 1) * cell, side, cell))


class AttentionView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Select a step (prompts up to 256 tokens) to see the attention")
        self.title.setWordWrap(True)
        self.legend = QLabel("")
        self.legend.setWordWrap(True)
        self.big = BigMap()
        self.big_caption = QLabel("")
        self.grid = QGridLayout()
        self.grid.setSpacing(4)
        holder = QWidget()
        holder.setLayout(self.grid)
        self.scroll_area = QScrollArea()
        self.scroll_area.setWidget(holder)
        self.scroll_area.setWidgetResizable(True)
        self.scroll_area.setMinimumHeight(200)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.title, self.legend, self.big_caption, self.big):
            layout.addWidget(widget)
        layout.addWidget(self.scroll_area, 1)
        self.maps: AttentionMaps | None = None
        self.cells: dict[tuple[int, int], HeatMap] = {}
        self.chosen = (0, 0)

    def show_message(self, text: str) -> None:
        self.title.setText(text)

    def show_maps(self, maps: AttentionMaps, step_number: int) -> None:
        self.maps = maps
        last = shown(maps.pieces[-1])
        self.title.setText(
            f"Step {step_number}: where “{last}”, the token that chose it, looked "
            f"(outlined row), and every earlier token, in every layer and head"
        )
        groups = len(set(maps.kv_head_of))
        shared = (
            f" · {maps.n_head} query heads share {groups} key/value head"
            f"{'s' if groups > 1 else ''} (grouped-query attention: “kv” under each head)"
            if maps.shares_kv()
            else ""
        )
        self.legend.setText(f"rows attend to columns · colour √weight, bright = more{shared}")
        if len(self.cells) != len(maps.layers) * maps.n_head:
            self._build_grid(maps)
        for (layer, head), cell in self.cells.items():
            row = maps.layers[layer][head, -1]
            best = int(np.argmax(row))
            window = maps.windows[layer]
            kind = f"sliding window {window}" if window else "full attention"
            cell.set_weights(
                maps.layers[layer][head],
                f"layer {layer + 1}, head {head + 1} (key/value head "
                f"{maps.kv_head_of[head] + 1}, {kind}): “{last}” looks most at "
                f"“{shown(maps.pieces[best])}” ({row[best]:.2f})",
            )
        self.enlarge(*self.chosen)

    def _build_grid(self, maps: AttentionMaps) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        self.cells.clear()
        for head in range(maps.n_head):
            label = QLabel(f"head {head + 1}\nkv {maps.kv_head_of[head] + 1}")
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.grid.addWidget(label, 0, head + 1)
        for layer in range(len(maps.layers)):
            window = maps.windows[layer]
            label = QLabel(f"layer {layer + 1}" + (f"\nwindow {window}" if window else "\nfull"))
            self.grid.addWidget(label, layer + 1, 0)
            for head in range(maps.n_head):
                cell = HeatMap(layer, head)
                cell.clicked.connect(self.enlarge)
                self.grid.addWidget(cell, layer + 1, head + 1)
                self.cells[(layer, head)] = cell
        self.grid.setColumnStretch(maps.n_head + 1, 1)  # the maps packed at the left

    def enlarge(self, layer: int, head: int) -> None:
        maps = self.maps
        if maps is None or (layer, head) not in self.cells:
            return
        self.chosen = (layer, head)
        for key, cell in self.cells.items():
            cell.selected = key == (layer, head)
            cell.update()
        window = maps.windows[layer]
        kind = f"sliding window of {window}" if window else "full attention"
        self.big_caption.setText(
            f"Layer {layer + 1}, head {head + 1} · key/value head {maps.kv_head_of[head] + 1}"
            f" · {kind}"
        )
        self.big.show_map(maps.layers[layer][head], maps.pieces)

    def cell_color(self, layer: int, head: int, row: int, column: int) -> QColor:
        """The colour a map gives one weight (for tests and the legend)."""
        return self.cells[(layer, head)].image.pixelColor(column, row)
