"""One step, one set of numbers: the tooltip, the chart, the beam panel, the CSV export and
the CLI's JSON say which distribution each figure is from and agree on it; steps are
numbered from 1 everywhere; Greedy and Beam mode mark the slider as view only."""

from __future__ import annotations

import csv
import json
import math
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from pytestqt.qtbot import QtBot

from app.core.units import format_percent
from app.ui.main_window import MainWindow
from app.ui.widgets.draw_strip import DRAW_SEGMENTS, draw_segments

Workspace = Callable[[], MainWindow]
RunTokens = Callable[[MainWindow, int], None]
PROMPT = "The capital of France is"


def test_tooltip_chart_csv_and_json_agree(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens, tmp_path: Path
) -> None:
    window = workspace()
    ws = window.workspace
    ws.prompt_edit.setPlainText(PROMPT)
    run_tokens(window, 6)
    record = ws.record
    assert record is not None
    index = 3
    step = record.steps[index]
    ws.select_step(index)
    ws.decoding.set_temperature(0.8)
    assert "view only" in ws.chart.title.text() and ws.decoding.slider_is_view_only
    assert ws.decoding.view_only_note.text() == "view only: the choice does not depend on it"

    bar = next(b for b in ws.chart.bars if b.token_id == step.id)
    row = ws.chart.bars.index(bar)
    assert math.isclose(bar.p_model, step.p_model, rel_tol=1e-6)
    assert math.isclose(bar.p, step.p_at(0.8), rel_tol=1e-6)
    label = ws.chart.value_labels[row]
    assert label.startswith(f"{format_percent(bar.p)} ({format_percent(bar.p_model)})")

    tip = ws.stream_view.tooltip_for(index)
    assert f"step {index + 1}" in tip
    assert f"model (T = 1): p = {format_percent(step.p_model)}" in tip
    assert f"chart (T = 0.80): p = {format_percent(bar.p)}" in tip
    assert "click to force" in ws.chart.bar_tooltip((row + 1) % (len(ws.chart.bars) - 1))
    assert f"Step {index + 1}:" in ws.chart.title.text()

    csv_path = tmp_path / "steps.csv"
    window.files.export_csv(csv_path)
    with csv_path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["step"] for r in rows] == [str(k) for k in range(1, 7)]
    row_csv = rows[index]
    assert row_csv["T"] == "0.8"
    assert float(row_csv["p_model"]) == pytest.approx(step.p_model, rel=1e-6)
    assert float(row_csv["p_at_T"]) == pytest.approx(bar.p, rel=1e-6)
    assert int(row_csv["rank"]) == step.rank + 1

    out = subprocess.run(
        [
            *(sys.executable, "-m", "app", "generate", "--model", "default"),
            *("--prompt", PROMPT, "--mode", "greedy", "--max-tokens", "6", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    json_step = doc["steps"][index]
    assert json_step["step"] == index + 1 and json_step["id"] == step.id
    assert json_step["p"] == pytest.approx(step.p_model, abs=1e-4)
    assert json_step["rank"] == step.rank + 1


def test_beam_panel_and_chart_agree(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    ws = window.workspace
    ws.prompt_edit.setPlainText(PROMPT)
    ws.decoding.set_mode("beam")
    ws.decoding.beam_width.setValue(3)
    run_tokens(window, 4)
    record = ws.record
    assert record is not None
    ws.select_step(1)
    ws.decoding.set_temperature(0.7)
    text = ws.chart.beam_panel.text()
    assert "log p (the model, T = 1)" in text and "Beam search at step 2" in text
    chosen = next(b for b in ws.chart.bars if b.token_id == record.steps[1].id)
    node = next(n for n in record.beam_nodes if n.step == 1 and n.token == chosen.token_id)
    assert math.exp(node.logprob) == pytest.approx(chosen.p_model, abs=5e-3)
    assert f"{node.logprob:.2f}" in text
    assert ws.decoding.slider_is_view_only
    ws.decoding.set_mode("sample")
    assert not ws.decoding.slider_is_view_only


def test_a_sampled_step_is_not_labelled_argmax_after_a_mode_change(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    ws = window.workspace
    ws.decoding.set_mode("sample")
    run_tokens(window, 4)
    ws.select_step(2)
    ws.decoding.set_mode("greedy")
    assert not any("argmax" in label for label in ws.chart.value_labels)
    assert "sampled" in ws.chart.title.text()


def test_the_draw_strip_keeps_a_full_vocabulary_short() -> None:
    probs = np.full(262_144, 1 / 262_144)
    starts, widths, colors = draw_segments(probs, chosen=100_000)
    assert starts.size == DRAW_SEGMENTS + 3 == len(colors)
    assert widths.sum() == pytest.approx(1.0)
    chosen = int(np.argmin(np.abs(starts - 100_000 / 262_144)))
    assert widths[chosen] == pytest.approx(1 / 262_144)
    assert np.all(np.diff(starts) > 0)
