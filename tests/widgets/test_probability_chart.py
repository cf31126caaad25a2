"""The probability chart on its own, fed recorded steps: its bars, their value labels and
tooltips are the step's softmax at the chart's temperature (and the model's at T = 1);
colours follow the legend for greedy, sampled and beam steps; a click asks to branch."""

from __future__ import annotations

import math
import re

import pyqtgraph as pg
import pytest
from PySide6.QtCore import QPoint, QPointF, Qt
from pytestqt.qtbot import QtBot
from recorded_steps import reference_probabilities

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import TokenStep
from app.core.runs.run_record import RunRecord
from app.core.units import format_percent
from app.ui.widgets.probability_chart import ProbabilityChart

TOP = 10  # bars the chart shows by default, before the "others" bar
# The reference softmax integrates the tail at bin centres: about 1e-3 of the tail's mass.
P_TOLERANCE = 2e-3


@pytest.fixture
def chart(qtbot: QtBot) -> ProbabilityChart:
    widget = ProbabilityChart()
    qtbot.addWidget(widget)
    widget.resize(640, 620)
    widget.show()
    return widget


def shown(piece: bytes) -> str:
    """A token as the chart labels it: spaces and newlines made visible."""
    return piece.decode("utf-8").replace(" ", "␣").replace("\n", "↵")


def drawn_bars(chart: ProbabilityChart) -> tuple[list[float], list[str]]:
    """The lengths and fill colours of the bars on the plot, top to bottom."""
    item = next(i for i in chart.plot.getPlotItem().items if isinstance(i, pg.BarGraphItem))
    widths = [float(w) for w in item.opts["width"]]
    colours = [pg.mkBrush(b).color().name() for b in item.opts["brushes"]]
    return widths, colours


def legend_colours(chart: ProbabilityChart) -> dict[str, str]:
    """The chart's legend: what each colour means, as the user reads it."""
    entries = re.findall(r"color:(#[0-9a-fA-F]{6})'>■</span>&nbsp;([^&<]+)", chart.legend.text())
    return {text.strip(): colour.lower() for colour, text in entries}


def expected_top(step: TokenStep, temperature: float, k: int = TOP) -> list[tuple[int, float]]:
    """The k most likely tokens at T and their p, from the step's stored distribution."""
    reference = reference_probabilities(step.distribution, temperature)
    return sorted(reference.items(), key=lambda item: -item[1])[:k]


def bar_point(chart: ProbabilityChart, row: int) -> QPoint:
    """The middle of bar `row` on the plot's viewport."""
    return QPointF(chart.bar_center(row)).toPoint()


def show(chart: ProbabilityChart, run: RunRecord, index: int) -> TokenStep:
    chart.set_settings(run.settings)
    step = run.steps[index]
    chart.show_step(step, run.pieces, run.settings, run.beam_nodes, run.beam_path)
    return step


def test_bars_are_the_steps_top_probabilities_at_t_1(
    chart: ProbabilityChart, greedy_run: RunRecord
) -> None:
    index = next(i for i, s in enumerate(greedy_run.steps) if s.piece == b" Paris")
    step = show(chart, greedy_run, index)
    top = expected_top(step, 1.0)

    bars = chart.bars
    assert len(bars) == TOP + 1  # the greedy choice is the argmax: no extra bar for it
    assert [b.token_id for b in bars[:TOP]] == [token for token, _p in top]
    assert [b.label for b in bars[:TOP]] == [shown(greedy_run.pieces[t]) for t, _p in top]
    widths, _colours = drawn_bars(chart)
    for width, (_token, p) in zip(widths, top, strict=False):
        assert width == pytest.approx(p, rel=P_TOLERANCE)
    others = 1.0 - sum(p for _token, p in top)
    assert bars[-1].token_id == -1 and widths[-1] == pytest.approx(others, abs=1e-4)
    assert bars[-1].label == f"{step.distribution.vocab_size - TOP:,} others"
    assert sum(widths) == pytest.approx(1.0, abs=1e-9)

    # At T = 1 each bar says its p once; the greedy choice is marked as the argmax.
    assert chart.value_labels[0] == f"{format_percent(widths[0])} ◀ argmax"
    assert chart.value_labels[1:] == [format_percent(w) for w in widths[1:]]
    assert chart.bars[0].token_id == step.id
    assert f"Step {step.number}: chose “␣Paris”" in chart.title.text()
    assert "T = 1" in chart.title.text()

    chart.k_spin.setValue(20)
    assert [b.token_id for b in chart.bars[:-1]] == [t for t, _p in expected_top(step, 1.0, 20)]


@pytest.mark.parametrize("temperature", [0.4, 0.7, 1.6])
def test_temperature_rescores_the_bars_as_softmax_at_t(
    chart: ProbabilityChart, sampled_run: RunRecord, temperature: float
) -> None:
    # The flattest step of the run, where temperature moves the bars the most.
    index = max(range(len(sampled_run.steps)), key=lambda i: sampled_run.steps[i].entropy)
    step = show(chart, sampled_run, index)
    at_one = dict(expected_top(step, 1.0, 50))
    chart.set_temperature(1.0)
    top_at_one = drawn_bars(chart)[0][0]

    chart.set_temperature(temperature)
    top = expected_top(step, temperature)
    widths, _colours = drawn_bars(chart)
    assert [b.token_id for b in chart.bars[:TOP]] == [t for t, _p in top]
    for bar, width, (token, p) in zip(chart.bars, widths, top, strict=False):
        assert width == pytest.approx(p, rel=P_TOLERANCE)
        assert bar.p_model == pytest.approx(at_one[token], rel=P_TOLERANCE)
    # Below T = 1 the likeliest token gains, above it loses.
    assert (widths[0] > top_at_one) == (temperature < 1.0)
    # Away from T = 1 each label carries the model's own p in brackets.
    for label, bar in zip(chart.value_labels, chart.bars, strict=True):
        assert label == f"{format_percent(bar.p)} ({format_percent(bar.p_model)})"
    assert f"p at T = {temperature:.2f}" in chart.title.text()
    assert f"T = {temperature:.2f}" in chart.formula.text()


def test_at_t_0_the_argmax_has_everything(chart: ProbabilityChart, sampled_run: RunRecord) -> None:
    step = show(chart, sampled_run, 0)
    chart.set_temperature(0.0)
    widths, _colours = drawn_bars(chart)
    argmax = expected_top(step, 1.0, 1)[0][0]
    assert chart.bars[0].token_id == argmax and widths[0] == 1.0
    assert all(w == 0.0 for w in widths[1:])
    assert chart.value_labels[0].startswith("100.0% (")
    assert "T = 0 is the limit" in chart.formula.text()


def test_tooltips_name_the_token_and_its_p(chart: ProbabilityChart, sampled_run: RunRecord) -> None:
    index = 12  # " it", chosen at rank 2
    step = show(chart, sampled_run, index)
    chart.set_temperature(0.5)
    rows = {bar.token_id: row for row, bar in enumerate(chart.bars)}
    bar = chart.bars[rows[step.id]]
    assert bar.p == pytest.approx(
        reference_probabilities(step.distribution, 0.5)[step.id], rel=P_TOLERANCE
    )
    chosen = chart.bar_tooltip(rows[step.id])
    assert f"“␣it” (id {step.id}): {format_percent(bar.p)} at T = 0.50" in chosen
    assert f"the model (T = 1): {format_percent(step.p_model)}" in chosen
    assert "the token chosen at this step" in chosen
    other_row = next(r for t, r in rows.items() if t not in (step.id, -1))
    other = chart.bar_tooltip(other_row)
    assert f"“{chart.bars[other_row].label}” (id {chart.bars[other_row].token_id})" in other
    assert "click to force this token" in other
    assert "(not a token to pick)" in chart.bar_tooltip(len(chart.bars) - 1)
    assert chart.bar_tooltip(len(chart.bars)).startswith("Click a bar")


def test_hovering_and_clicking_a_bar(
    qtbot: QtBot, chart: ProbabilityChart, greedy_run: RunRecord
) -> None:
    show(chart, greedy_run, 1)
    qtbot.mouseMove(chart.plot.viewport(), bar_point(chart, 2))
    assert chart.plot.toolTip() == chart.bar_tooltip(2)
    with qtbot.waitSignal(chart.token_activated, timeout=1000) as clicked:
        qtbot.mouseClick(chart.plot.viewport(), Qt.MouseButton.LeftButton, pos=bar_point(chart, 2))
    assert clicked.args == [chart.bars[2].token_id]
    # The "others" bar is no token: clicking it branches nowhere.
    with qtbot.assertNotEmitted(chart.token_activated):
        qtbot.mouseClick(
            chart.plot.viewport(),
            Qt.MouseButton.LeftButton,
            pos=bar_point(chart, len(chart.bars) - 1),
        )
        chart.activate_row(len(chart.bars))


def test_a_chosen_token_below_the_top_k_gets_its_own_bar(
    chart: ProbabilityChart, greedy_run: RunRecord
) -> None:
    step = show(chart, greedy_run, len(greedy_run.steps) - 1)  # <eos>, forced by the user
    assert step.forced and step.rank >= TOP
    bars = chart.bars
    assert len(bars) == TOP + 2
    chosen = bars[TOP]
    assert (chosen.token_id, chosen.label) == (step.id, f"<eos> #{step.rank + 1}")
    widths, colours = drawn_bars(chart)
    p = reference_probabilities(step.distribution, 1.0)[step.id]
    assert widths[TOP] == pytest.approx(p, rel=P_TOLERANCE)
    legend = legend_colours(chart)
    assert colours[TOP] == legend["chosen"]
    assert colours[:TOP] == [legend["other tokens"]] * TOP
    assert colours[-1] == legend["all the rest"]
    assert "forced by you" in chart.title.text()
    assert not any("argmax" in label for label in chart.value_labels)


def test_sampled_step_greys_out_what_the_chain_cut(
    chart: ProbabilityChart, sampled_run: RunRecord
) -> None:
    index = 12  # 6 survivors of top-k 40, top-p 0.95, min-p 0.05; 4 of the top 10 cut
    step = show(chart, sampled_run, index)
    assert step.sample is not None
    survivors = set(step.sample.survivor_ids.tolist())
    legend = legend_colours(chart)
    kept, cut = legend["kept by top‑k / top‑p / min‑p"], legend["cut"]
    assert len({kept, cut, legend["chosen"], legend["all the rest"]}) == 4
    _widths, colours = drawn_bars(chart)
    expected = [
        legend["chosen"] if b.token_id == step.id else kept if b.token_id in survivors else cut
        for b in chart.bars[:-1]
    ]
    assert colours[:-1] == expected
    assert cut in expected and kept in expected
    assert "sampled" in chart.title.text()
    assert not chart.draw_strip.isHidden()  # where the uniform draw landed

    # Tighter settings on screen: the chart previews what they would cut at this step.
    settings = sampled_run.settings.with_(top_p=0.5)
    chart.set_settings(settings)
    _widths, colours = drawn_bars(chart)
    preview = [
        legend["chosen"] if b.token_id == step.id else kept if survives else cut
        for b, survives in zip(chart.bars[:-1], chain_keeps(step, settings), strict=True)
    ]
    assert colours[:-1] == preview
    assert preview.count(kept) < expected.count(kept)


def chain_keeps(step: TokenStep, settings: DecodingSettings) -> list[bool]:
    """Whether llama.cpp's chain (top-k, then top-p over the renormalised survivors, then
    min-p against the likeliest) keeps each of the step's top 10 tokens."""
    ranked = sorted(step.distribution.head_logits.astype(float).tolist(), reverse=True)
    logits = ranked[: settings.top_k]
    weights = [math.exp(z - logits[0]) for z in logits]
    total = math.fsum(weights)
    keeps, before = [], 0.0
    for rank, weight in enumerate(weights[:TOP]):
        p = weight / total
        keeps.append(rank == 0 or (before < settings.top_p and weight >= settings.min_p))
        before += p
    return keeps


def test_a_top_k_below_the_bars_shown_cuts_the_rest(
    chart: ProbabilityChart, sampled_run: RunRecord
) -> None:
    step = show(chart, sampled_run, 12)
    chart.set_settings(sampled_run.settings.with_(top_k=2))
    legend = legend_colours(chart)
    colours = dict(zip((b.token_id for b in chart.bars), drawn_bars(chart)[1], strict=True))
    beyond_k = [b.token_id for b in chart.bars[2:TOP] if b.token_id != step.id]
    assert {colours[t] for t in beyond_k} == {legend["cut"]}


def test_beam_step_colours_the_candidates_kept_and_pruned(
    chart: ProbabilityChart, beam_run: RunRecord
) -> None:
    # Step 4: the best beam's parent had a candidate kept beside the chosen one, and one
    # pruned.
    index = 3
    step = show(chart, beam_run, index)
    parent = beam_run.beam_path[index - 1]
    candidates = [n for n in beam_run.beam_nodes if n.step == index and n.parent == parent]
    kept = {n.token for n in candidates if n.kept} - {step.id}
    pruned = {n.token for n in candidates if not n.kept}
    assert kept and pruned

    legend = legend_colours(chart)
    colour_of = dict(zip((b.token_id for b in chart.bars), drawn_bars(chart)[1], strict=True))
    assert colour_of[step.id] == legend["chosen"]
    assert {colour_of[t] for t in kept} == {legend["became a beam"]}
    assert {colour_of[t] for t in pruned} == {legend["pruned"]}
    rest = set(colour_of) - kept - pruned - {step.id, -1}
    assert {colour_of[t] for t in rest} == {legend["not a candidate of this beam"]}
    assert "best beam" in chart.title.text()
    panel = chart.beam_panel
    assert not panel.isHidden() and f"Beam search at step {index + 1}" in panel.text()
    assert "best path" in panel.text()


def test_no_step_no_bars(chart: ProbabilityChart, greedy_run: RunRecord) -> None:
    show(chart, greedy_run, 0)
    chart.show_step(None, {})
    assert chart.bars == [] and chart.value_labels == []
    assert drawn_bars(chart)[0] == []
    assert chart.plot.isHidden() and chart.title.text() == chart.empty_hint
