"""Next-token probability chart: the top K of one step as horizontal bars (pyqtgraph).

Bars show softmax(z / T) over the full vocabulary at the slider's temperature, re-scored
from the step's stored distribution (no model call). The chosen token is highlighted,
one bar holds every other token's mass, and the decoding mode adds its own marks:
greedy labels the argmax, sampling greys out what top-k / top-p / min-p cut and shows
where the uniform draw landed, beam search colours the candidates the beams kept.
Clicking a bar asks to branch there with that token.
"""

from __future__ import annotations

import math

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QEvent, QPointF, Qt, Signal
from PySide6.QtGui import QColor, QFontMetricsF, QPalette
from PySide6.QtWidgets import QHBoxLayout, QLabel, QSpinBox, QVBoxLayout, QWidget

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import BeamNode, TokenStep
from app.core.decoding.truncation import survivor_mask
from app.core.units import format_percent as percent
from app.ui.widgets import palette
from app.ui.widgets.bar_labels import BarLabel, BarValueLabels
from app.ui.widgets.beam_candidates import BeamCandidatesPanel
from app.ui.widgets.chart_text import chart_title, formula_html, legend_html, shows_model_too
from app.ui.widgets.draw_strip import DrawStrip
from app.ui.widgets.estimate_bars import Bar, EstimateBars, rank_text
from app.ui.widgets.live_label import LiveLabel
from app.ui.widgets.plot_style import make_static
from app.ui.widgets.theme import fixed_font
from app.ui.widgets.token_axis import TokenAxis
from app.ui.widgets.token_text import visible_piece

DEFAULT_K = 10
LABEL_CHARS = 18


INSIDE_LABEL_P = 0.6  # bars longer than this hold their label inside
# With the model's p in brackets the labels are about twice as long.
INSIDE_LABEL_P_BOTH = 0.45
LABEL_ROOM = 1.45  # the axis reaches this many times the longest bar, for its label
LABEL_ROOM_BOTH = 2.1
LABEL_PAD_PX = 14  # space between a bar's end and its label, and after the label
BRANCH_HINT = "Click a bar to force that token at this step and continue from there"


class ProbabilityChart(QWidget):
    token_activated = Signal(int)
    """A bar was clicked: the token id to branch with."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._step: TokenStep | None = None
        self._pieces: dict[int, bytes] = {}
        self._settings = DecodingSettings()
        self._run_settings: DecodingSettings | None = None
        self._beam_nodes: list[BeamNode] = []
        self._beam_path: list[int] = []
        self._temperature = 1.0
        self.bars: list[Bar] = []
        self._live = False
        self._ranges = (0.0, 0)

        self.empty_hint = "Generate to see the next-token distribution"
        # Three lines of constant height: it changes with every step of a run.
        self.title = LiveLabel(self.empty_hint, lines=3)
        self.k_spin = QSpinBox(minimum=5, maximum=50, value=DEFAULT_K)
        self.k_spin.setAccessibleName("Tokens shown in the chart (top K)")
        self.k_spin.setPrefix("top ")
        self.k_spin.setToolTip("How many of the most likely tokens to show")
        self.k_spin.valueChanged.connect(lambda _k: self._redraw())
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.k_spin)

        self._font = fixed_font(9)
        self._metrics = QFontMetricsF(self._font)  # measures the value labels every step
        self._token_axis = TokenAxis(self._font)
        self.plot = pg.PlotWidget(axisItems={"left": self._token_axis})
        self.plot.setMinimumHeight(200)  # below this the bar labels of a top 10 overlap
        make_static(self.plot)
        item = self.plot.getPlotItem()
        item.invertY(True)
        item.disableAutoRange()
        item.showGrid(x=True, y=False, alpha=0.15)
        item.setLabel("bottom", "probability")
        item.getAxis("bottom").enableAutoSIPrefix(False)
        self._bar_item = pg.BarGraphItem(x0=[], y=[], height=0.72, width=[])
        self.plot.addItem(self._bar_item)
        self.estimate_bars = EstimateBars()  # a server's step at T != 1: the bounds
        self.plot.addItem(self.estimate_bars)
        self._value_labels = BarValueLabels(self._font)
        self.plot.addItem(self._value_labels, ignoreBounds=True)
        self.plot.scene().sigMouseClicked.connect(self._on_click)
        self.plot.scene().sigMouseMoved.connect(self._on_hover)
        self.plot.setToolTip(BRANCH_HINT)

        self.draw_strip = DrawStrip()

        self.legend = QLabel()
        self.legend.setTextFormat(Qt.TextFormat.RichText)
        self.legend.setWordWrap(True)  # Compare's narrow chart column

        self.beam_panel = BeamCandidatesPanel()
        self.beam_panel.setVisible(False)

        self.formula = QLabel()
        self.formula.setTextFormat(Qt.TextFormat.RichText)
        self.formula.setWordWrap(True)
        self.formula.setFrameShape(QLabel.Shape.StyledPanel)
        self.formula.setMargin(6)

        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.legend)  # above the plot: seen without scrolling
        layout.addWidget(self.plot, 1)
        layout.addWidget(self.draw_strip)
        layout.addWidget(self.beam_panel)
        layout.addWidget(self.formula)
        layout.addStretch(0)  # with the plot hidden (no step yet) the hint stays on top
        self._redraw()

    # ---- inputs ------------------------------------------------------------------
    @property
    def k(self) -> int:
        return self.k_spin.value()

    @property
    def step(self) -> TokenStep | None:
        return self._step

    @property
    def temperature(self) -> float:
        return self._temperature

    @property
    def _mode(self) -> str:
        return self._settings.mode

    def show_step(
        self,
        step: TokenStep | None,
        pieces: dict[int, bytes],
        run_settings: DecodingSettings | None = None,
        beam_nodes: list[BeamNode] | None = None,
        beam_path: list[int] | None = None,
        *,
        live: bool = False,
    ) -> None:
        """Show a step of a run made with `run_settings` (its beam tree for beam runs).

        `live`: the run is still going and this is its latest step. The bars follow; the
        formula panel waits for the run to end (re-laying out its rich text costs
        several milliseconds that a running decode would lose).
        """
        self._live = live
        self._step = step
        self._pieces = pieces
        self._run_settings = run_settings
        self._beam_nodes = beam_nodes or []
        self._beam_path = beam_path or []
        self._redraw()

    def set_settings(self, settings: DecodingSettings) -> None:
        """The settings on screen: the mode and truncation the chart illustrates."""
        self._settings = settings
        self._temperature = settings.temperature
        self._redraw()

    def set_temperature(self, temperature: float) -> None:
        self._temperature = temperature
        self._redraw()

    # ---- drawing -----------------------------------------------------------------
    def _label(self, token_id: int) -> str:
        piece = self._pieces.get(token_id)
        text = visible_piece(piece) if piece is not None else f"#{token_id}"
        return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1] + "…"

    def _bar_colors(self, step: TokenStep, ids: list[int]) -> list[QColor]:
        colors = [palette.BAR] * len(ids)
        if self._mode == "sample":
            if step.sample is not None and self._drawn_with_screen_settings(step):
                survivors = set(step.sample.survivor_ids.tolist())
                colors = [palette.BAR if i in survivors else palette.CUT for i in ids]
            else:
                keep = survivor_mask(step.distribution, self._settings, len(ids))
                colors = [palette.BAR if k else palette.CUT for k in keep.tolist()]
        elif self._mode == "beam" or self._chosen_by(step) == "beam":
            parent = self._best_parent(step.index)
            at_step = [n for n in self._beam_nodes if n.step == step.index and n.parent == parent]
            if at_step:  # this beam's candidates: which became beams, which were pruned
                kept = {n.token for n in at_step if n.kept}
                considered = {n.token for n in at_step}
            else:  # not a beam run: the candidates one beam would expand here
                kept = set()
                considered = set(ids[: self._settings.beam_width])
            colors = [
                palette.KEPT_BEAM if i in kept else palette.PRUNED_BEAM if i in considered else c
                for i, c in zip(ids, colors, strict=True)
            ]
        return [palette.CHOSEN if i == step.id else c for i, c in zip(ids, colors, strict=True)]

    def _drawn_with_screen_settings(self, step: TokenStep) -> bool:
        run = self._run_settings
        screen = self._settings
        return run is not None and (run.top_k, run.top_p, run.min_p) == (
            screen.top_k,
            screen.top_p,
            screen.min_p,
        )

    def _redraw(self) -> None:
        step = self._step
        self.plot.setVisible(step is not None)
        self.legend.setVisible(step is not None)
        self.formula.setVisible(step is not None)
        if step is None:
            self.bars = []
            self._bar_item.setOpts(x0=[], y=[], width=[], brushes=[])
            self._token_axis.set_labels([])
            self.estimate_bars.show_for(None, [], 1.0)
            self.title.setText(self.empty_hint)
            self._place_value_labels()
            self._show_draw(False)
            self.beam_panel.setVisible(False)
            self._update_formula()
            return
        t = self._temperature
        top = step.top(self.k, t)
        ids = [entry.id for entry in top]
        colors = self._bar_colors(step, ids)
        dist = step.distribution
        bars = [
            Bar(
                entry.id,
                self._label(entry.id),
                entry.p,
                color,
                math.exp(dist.logprob(entry.logit, 1.0)),
            )
            for entry, color in zip(top, colors, strict=True)
        ]
        if step.id not in ids:  # the chosen token ranked below the top K: shown too
            label = f"{self._label(step.id)} {rank_text(step)}"
            bars.append(Bar(step.id, label, step.p_at(t), palette.CHOSEN, step.p_model))
        others = max(0.0, 1.0 - math.fsum(b.p for b in bars))
        others_model = max(0.0, 1.0 - math.fsum(b.p_model for b in bars))
        bars.append(
            Bar(
                -1,
                f"{dist.vocab_size - len(bars):,} others",
                others,
                palette.OTHERS,
                others_model,
            )
        )
        self.bars = bars
        ys = np.arange(len(bars), dtype=float)
        self._bar_item.setOpts(
            x0=np.zeros(len(bars)),
            y=ys,
            width=np.array([b.p for b in bars]),
            brushes=[pg.mkBrush(b.color) for b in bars],
            pens=[pg.mkPen(b.color.darker(130)) for b in bars],
        )
        self._token_axis.set_labels([b.label for b in bars])
        self.estimate_bars.show_for(step, bars, t)
        item = self.plot.getPlotItem()
        # Ranges change in steps, so the axes (costly to repaint) rarely change.
        # Room for the value labels; probabilities stop at 1, so the axis stops near it.
        labels = self._value_label_list()
        x_end = self._axis_end(labels)
        if (x_end, len(bars)) != self._ranges:
            self._ranges = (x_end, len(bars))
            item.setRange(xRange=(0, x_end), yRange=(-0.6, len(bars) - 0.4), padding=0)
            # Room for the labels may reach past 1; probabilities do not, nor do the ticks.
            ticks = [(v / 10, f"{v / 10:g}") for v in range(2, 11, 2)] if x_end > 1 else None
            item.getAxis("bottom").setTicks([ticks] if ticks else None)
            item.getViewBox().updateMatrix()  # now, not mid-paint (see TimelineView)
        self._value_labels.set_labels(labels, self._text_color())
        self.title.setText(self._title(step, top[0].id if top else -1))
        self._update_legend()
        self._update_draw(step)
        self._update_beams(step)
        if not self._live:
            self._update_formula()

    def _chosen_by(self, step: TokenStep) -> str:
        """How the shown step was chosen: its own record, whatever the screen's mode is
        now (sessions of earlier versions: its sample, else the run's settings)."""
        if step.chosen_by:
            return step.chosen_by
        if step.sample is not None:
            return "sample"
        return self._run_settings.mode if self._run_settings is not None else self._mode

    @property
    def shows_model_too(self) -> bool:
        """Whether the bars' labels carry the model's p (T = 1) beside the chart's."""
        return shows_model_too(self._temperature)

    def _title(self, step: TokenStep, argmax: int) -> str:
        sampling = self._settings if self._mode == "sample" else None
        return chart_title(step, self._chosen_by(step), argmax, self._temperature, sampling)

    def _place_value_labels(self) -> None:
        self._value_labels.set_labels(self._value_label_list(), self._text_color())

    def _axis_end(self, labels: list[BarLabel]) -> float:
        """Where the probability axis ends: far enough right for every label outside its
        bar (measured in pixels on the plot as it is now), in steps of 0.1."""
        width = float(self.plot.getPlotItem().getViewBox().width())
        metrics = self._metrics
        room = LABEL_ROOM_BOTH if self.shows_model_too else LABEL_ROOM
        need = 0.05
        for label in labels:
            if label.inside:
                need = max(need, label.x)
                continue
            text = metrics.horizontalAdvance(label.text) + LABEL_PAD_PX
            if width > text + 40:
                need = max(need, label.x * width / (width - text))
            else:  # not laid out yet
                need = max(need, label.x * room)
        return min(1.25, math.ceil(need * 10) / 10)

    def _value_label_list(self) -> list[BarLabel]:
        labels = []
        greedy_step = (
            self._step is not None
            and not self._step.forced
            and self._step.sample is None
            and self._chosen_by(self._step) == "greedy"
        )
        both = self.shows_model_too
        inside = INSIDE_LABEL_P_BOTH if both else INSIDE_LABEL_P
        bounds = self.estimate_bars.bounds  # a server's step: the label clears the whisker
        for i, bar in enumerate(self.bars):
            marks = " ◀ argmax" if i == 0 and greedy_step and bar.token_id >= 0 else ""
            model = f" ({percent(bar.p_model)})" if both else ""
            end = max(bar.p, bounds[i][1]) if len(bounds) == len(self.bars) else bar.p
            # A long bar carries its label inside its end, so it never runs off the plot.
            text = f"{percent(bar.p)}{model}{marks}"
            labels.append(BarLabel(end, float(i), text, end > inside))
        return labels

    @property
    def value_label_starts(self) -> list[float]:
        return [label.x for label in self._value_labels.labels]

    @property
    def value_labels(self) -> list[str]:
        """The text at the end of each bar, top to bottom."""
        return [label.text for label in self._value_labels.labels]

    def _text_color(self) -> QColor:
        return self.palette().color(QPalette.ColorRole.WindowText)

    def changeEvent(self, event: QEvent) -> None:
        if event.type() == QEvent.Type.PaletteChange:  # light / dark theme switched
            self._place_value_labels()
        super().changeEvent(event)

    def _show_draw(self, visible: bool) -> None:
        self.draw_strip.setVisible(visible)

    def _update_draw(self, step: TokenStep) -> None:
        self._show_draw(self._mode == "sample" and self.draw_strip.show_step(step))

    def _update_beams(self, step: TokenStep) -> None:
        """In beam mode, list each beam's candidates at this step (from the search tree)."""
        if self._mode != "beam" or not self._beam_nodes:
            self.beam_panel.setVisible(False)
            return
        chosen_parent = self._best_parent(step.index)
        self.beam_panel.setVisible(
            self.beam_panel.show_step(self._beam_nodes, step.index, chosen_parent)
        )

    def _update_legend(self) -> None:
        step = self._step
        beam = self._mode == "beam" or (step is not None and self._chosen_by(step) == "beam")
        self.legend.setText(legend_html(self._mode == "sample", beam))

    def _best_parent(self, step_index: int) -> int:
        """The best beam's node at the step before (-1: the prompt)."""
        on_path = set(self._beam_path)
        for node in self._beam_nodes:
            if node.node_id in on_path and node.step == step_index - 1:
                return node.node_id
        return -1

    def _update_formula(self) -> None:
        self.formula.setText(formula_html(self._step, self._temperature))

    # ---- interaction -------------------------------------------------------------
    def _on_click(self, event: object) -> None:
        pos = event.scenePos()  # type: ignore[attr-defined]
        vb = self.plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(pos) and not self._over_left_axis(pos):
            return
        row = round(vb.mapSceneToView(pos).y())
        self.activate_row(row)

    def _row_at(self, pos: QPointF) -> int:
        vb = self.plot.getPlotItem().getViewBox()
        if not vb.sceneBoundingRect().contains(pos) and not self._over_left_axis(pos):
            return -1
        row = round(vb.mapSceneToView(pos).y())
        return row if 0 <= row < len(self.bars) else -1

    def _on_hover(self, pos: QPointF) -> None:
        self.plot.setToolTip(self.bar_tooltip(self._row_at(pos)))

    def bar_tooltip(self, row: int) -> str:
        """What hovering bar `row` says: its probabilities and that a click branches."""
        if not 0 <= row < len(self.bars) or self._step is None:
            return BRANCH_HINT
        bar = self.bars[row]
        t = self._temperature
        model = f" · the model (T = 1): {percent(bar.p_model)}" if self.shows_model_too else ""
        if bar.token_id < 0:
            return f"{bar.label}: {percent(bar.p)} at T = {t:.2f}{model} (not a token to pick)"
        figures = f"“{bar.label}” (id {bar.token_id}): {percent(bar.p)} at T = {t:.2f}{model}"
        if bar.token_id == self._step.id:
            return f"{figures}<br>the token chosen at this step"
        return f"{figures}<br>click to force this token here and continue from it"

    def _over_left_axis(self, pos: QPointF) -> bool:
        return bool(self._token_axis.sceneBoundingRect().contains(pos))

    def activate_row(self, row: int) -> None:
        """Branch with the token of bar `row` (0 = most likely); the others bar is not one."""
        if 0 <= row < len(self.bars) and self.bars[row].token_id >= 0:
            self.token_activated.emit(self.bars[row].token_id)

    def bar_center(self, row: int) -> QPointF:
        """Where bar `row` is on the plot widget (for clicks in tests and tours)."""
        vb = self.plot.getPlotItem().getViewBox()
        bar = self.bars[row]
        scene = vb.mapViewToScene(QPointF(max(bar.p / 2, 0.001), float(row)))
        point: QPointF = self.plot.mapFromScene(scene)
        return point
