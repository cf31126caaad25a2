"""The Layers view: for the selected step, what each layer's output would predict if it
were the last (the logit lens), and the probability of the chosen token layer by layer,
so the layer where the answer appears can be seen."""

from __future__ import annotations

import pyqtgraph as pg
from PySide6.QtGui import QFont
from PySide6.QtWidgets import QLabel, QTableWidgetItem, QVBoxLayout, QWidget

from app.core.inside.logit_lens import CAVEAT, Lens
from app.core.units import format_percent
from app.ui.widgets import palette
from app.ui.widgets.item_table import item_table, number_item
from app.ui.widgets.plot_style import small_plot
from app.ui.widgets.token_text import visible_piece


def shown(piece: str) -> str:
    return visible_piece(piece.encode("utf-8", "surrogateescape"))


class LayersView(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = QLabel("Select a step to see how the layers reach it")
        self.title.setWordWrap(True)
        self.caveat = QLabel(CAVEAT)
        self.caveat.setWordWrap(True)
        self.plot = small_plot(
            160, "Probability of the chosen token at each layer", "p(chosen)", "layer"
        )
        item = self.plot.getPlotItem()
        item.setYRange(0.0, 1.0, padding=0.02)
        item.showGrid(x=True, y=True, alpha=0.15)
        self._line = item.plot(
            [], [], pen=pg.mkPen(palette.CHOSEN, width=2), symbol="o", symbolSize=6,
            symbolBrush=pg.mkBrush(palette.CHOSEN),
        )  # fmt: skip
        self.table = item_table(["Layer", "Top 5 if this layer were the last", "p(chosen)"], 1)
        self.table.setAccessibleName("Each layer's top predictions")
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.caveat)
        layout.addWidget(self.plot)
        layout.addWidget(self.table, 1)
        self.lens: Lens | None = None

    def show_message(self, text: str) -> None:
        self.title.setText(text)

    def show_lens(self, lens: Lens, step_number: int) -> None:
        self.lens = lens
        chosen = shown(lens.chosen.piece)
        first = lens.first_layer_with_answer()
        where = (
            f"the top prediction from layer {first} of {len(lens.layers)} on"
            if first is not None
            else "never the lens's top prediction"
        )
        self.title.setText(f"Step {step_number}: “{chosen}” — {where}")
        xs = [entry.layer for entry in lens.layers]
        self._line.setData(xs, [entry.p_chosen for entry in lens.layers])
        self.plot.getPlotItem().setXRange(1, max(xs), padding=0.02)
        self.table.setRowCount(len(lens.layers))
        bold = QFont(self.table.font())
        bold.setBold(True)
        for row, entry in enumerate(reversed(lens.layers)):  # the last layer on top
            top = " · ".join(f"{shown(t.piece)} {format_percent(t.p)}" for t in entry.top)
            cells = (
                number_item(str(entry.layer), entry.layer),
                QTableWidgetItem(top),
                number_item(format_percent(entry.p_chosen)),
            )
            for column, cell in enumerate(cells):
                if entry.top[0].id == lens.chosen.id:  # the chosen token leads here
                    cell.setFont(bold)
                cell.setToolTip(top)
                self.table.setItem(row, column, cell)
