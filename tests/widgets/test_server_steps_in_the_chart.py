"""A server's step in the chart: labelled as the top N with the rest estimated, the
bounds drawn at T != 1 around every bar, and the value labels clear of them; sampling
says when its survivors may reach past the tokens the server sent."""

from __future__ import annotations

import math

from pytestqt.qtbot import QtBot

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import TokenStep
from app.core.decoding.top_n_distribution import from_top_logprobs
from app.ui.widgets.probability_chart import ProbabilityChart
from app.ui.widgets.timeline_view import TimelineView

TOP = [(10, 0.30), (11, 0.20), (12, 0.12), (13, 0.08), (14, 0.05), (15, 0.03)]


def _step(chosen: int = 11) -> TokenStep:
    dist = from_top_logprobs(5000, [(i, math.log(p)) for i, p in TOP])
    p = dict(TOP)[chosen]
    return TokenStep(0, chosen, b" x", math.log(p), 1.0, dist, chosen_by="sample")


def test_bounds_at_another_temperature_and_labels_beside_them(qtbot: QtBot) -> None:
    chart = ProbabilityChart()
    qtbot.addWidget(chart)
    chart.resize(520, 420)
    chart.show()
    chart.show_step(_step(), {i: f" t{i}".encode() for i, _p in TOP})
    chart.set_temperature(1.0)
    assert "server sent the top 6; the rest is estimated" in chart.title.text()
    assert "bounds" not in chart.title.text() and chart.estimate_bars.bounds == []
    assert chart.bars[0].p == 0.30  # exact at T = 1
    assert abs(chart.bars[-1].p - (1 - sum(p for _i, p in TOP))) < 1e-12

    chart.set_temperature(1.6)
    assert "(bounds drawn)" in chart.title.text()
    bounds = chart.estimate_bars.bounds
    assert len(bounds) == len(chart.bars)
    for bar, (low, high) in zip(chart.bars, bounds, strict=True):
        assert low <= bar.p <= high and low < high  # unknown tail: a real interval
    # Ratios inside the top N are exact at any temperature.
    assert math.isclose(chart.bars[1].p / chart.bars[0].p, (0.20 / 0.30) ** (1 / 1.6))
    for start, (_low, high) in zip(chart.value_label_starts, bounds, strict=True):
        assert start >= high  # the text starts past the whisker


def test_sampling_says_when_survivors_reach_past_the_top_n(qtbot: QtBot) -> None:
    chart = ProbabilityChart()
    qtbot.addWidget(chart)
    chart.set_settings(DecodingSettings(mode="sample", top_k=0, top_p=1.0, min_p=0.0))
    chart.show_step(_step(), {})
    assert "server's top 6; sampling keeps more; the rest estimated" in chart.title.text()
    chart.set_settings(DecodingSettings(mode="sample", top_k=3, top_p=1.0, min_p=0.0))
    assert "sampling keeps more" not in chart.title.text()
    chart.set_settings(DecodingSettings(mode="sample", top_k=0, top_p=0.5, min_p=0.0))
    assert "sampling keeps more" not in chart.title.text()


def test_the_timeline_names_a_servers_entropy_estimated(qtbot: QtBot) -> None:
    timeline = TimelineView()
    qtbot.addWidget(timeline)
    assert timeline.entropy_label == "entropy"
    timeline.set_steps([_step()])
    assert timeline.entropy_label == "entropy (estimated)"
