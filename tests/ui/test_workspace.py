"""The workspace with the real default model: stream, chart, temperature, stop, branch,
bad models, sessions and a screenshot."""

from __future__ import annotations

import csv
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from PySide6.QtCore import QEvent, QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent, QHelpEvent
from PySide6.QtWidgets import QApplication, QToolTip
from pytestqt.qtbot import QtBot

from app.core.decoding.step_distribution import full_softmax
from app.core.llama.engine import Engine
from app.core.units import format_percent
from app.ui.main_window import MainWindow

Workspace = Callable[[], MainWindow]
RunTokens = Callable[[MainWindow, int], None]
NewWindow = Callable[[str], MainWindow]


def _reference_row(engine: Engine, window: MainWindow, index: int) -> np.ndarray:
    """The logits of step `index`, decoded the way the run did (prompt, then one by one)."""
    record = window.workspace.record
    assert record is not None
    prompt_ids = engine.tokenize_prompt(record.prompt)
    engine.clear()
    engine.prefill(prompt_ids)
    for offset, token in enumerate(record.ids[:index]):
        engine.decode([(token, len(prompt_ids) + offset, 0, True)])
    return engine.logits(-1).copy()


def test_generating_twenty_tokens(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    run_tokens(window, 20)
    record = window.workspace.record
    assert record is not None and len(record.steps) == 20
    assert record.stop_reason == "max_tokens"
    text = window.workspace.stream_view.toPlainText()
    assert text.startswith("Detective Jameson")
    assert record.text() in text
    assert len(window.workspace.stream_view.steps) == 20
    k = window.workspace.chart.k
    bars = window.workspace.chart.bars
    assert len(bars) == k + 1
    assert bars[-1].token_id == -1 and "others" in bars[-1].label
    assert math.isclose(sum(b.p for b in bars), 1.0, abs_tol=1e-9)
    labels = window.workspace.chart.value_labels  # the value printed at each bar's end
    assert len(labels) == len(bars)
    assert labels[0].endswith("◀ argmax")  # greedy, the default mode, marks the argmax
    for label, bar in zip(labels, bars, strict=True):
        assert label.split()[0] == format_percent(bar.p)
    assert window.workspace.chart.step is record.steps[-1]
    assert len(window.workspace.timeline.entropy) == 20
    assert "tokens/s" in window.run_label.text() and "perplexity" in window.run_label.text()
    window.workspace.chart.k_spin.setValue(25)
    assert len(window.workspace.chart.bars) == 26


def test_temperature_slider_rescoring_is_exact(
    qtbot: QtBot, workspace: Workspace, engine: Engine, run_tokens: RunTokens
) -> None:
    window = workspace()
    run_tokens(window, 6)
    record = window.workspace.record
    assert record is not None
    index = 4
    window.workspace.select_step(index)
    row = _reference_row(engine, window, index)
    assert int(np.argmax(row)) == record.ids[index]  # the same decode as the run
    before = [b.p for b in window.workspace.chart.bars]
    for temperature in (0.3, 1.0, 1.7):
        window.workspace.decoding.temperature_slider.setValue(round(temperature * 100))
        assert window.workspace.chart.temperature == pytest.approx(temperature)
        reference = full_softmax(row, temperature)
        bars = window.workspace.chart.bars
        order = np.argsort(-reference, kind="stable")[: window.workspace.chart.k]
        assert [b.token_id for b in bars[:-1]] == order.tolist()
        for bar in bars[:-1]:
            assert bar.p == pytest.approx(reference[bar.token_id], abs=1e-5)
        others = 1.0 - reference[order].sum()
        assert bars[-1].p == pytest.approx(others, abs=1e-5)
    assert [b.p for b in window.workspace.chart.bars] != before


def test_stop_mid_stream_leaves_the_app_usable(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    window.workspace.decoding.max_tokens.setValue(2000)
    window.workspace.generate_button.click()
    qtbot.waitUntil(lambda: len(window.workspace.stream_view.steps) >= 3, timeout=60_000)
    qtbot.keyClick(window, Qt.Key.Key_Escape)
    qtbot.waitUntil(lambda: not window.workspace.running, timeout=60_000)
    record = window.workspace.record
    assert record is not None and record.stop_reason == "cancelled"
    assert len(record.steps) < 2000
    assert "stopped by you" in window.run_label.text()
    assert (
        window.workspace.generate_button.isEnabled()
        and window.workspace.continue_button.isEnabled()
    )
    run_tokens(window, 5)
    assert window.workspace.record is not None and len(window.workspace.record.steps) == 5


def test_clicking_a_bar_branches_with_that_token(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    run_tokens(window, 10)
    record = window.workspace.record
    assert record is not None
    original = list(record.ids)
    window.workspace.select_step(3)
    alternative = window.workspace.chart.bars[2]
    assert alternative.token_id != original[3]
    qtbot.mouseClick(
        window.workspace.chart.plot.viewport(),
        Qt.MouseButton.LeftButton,
        pos=window.workspace.chart.bar_center(2),
    )
    qtbot.waitUntil(lambda: not window.workspace.running and len(record.steps) > 4, timeout=60_000)
    assert record.ids[:3] == original[:3]
    assert record.steps[3].id == alternative.token_id and record.steps[3].forced
    assert record.steps[3].index == 3
    assert len(record.steps) == 3 + 1 + 10  # the forced token, then max tokens more
    text = window.workspace.stream_view.toPlainText()
    assert record.text() in text
    assert window.workspace.restore_button.isEnabled()
    window.workspace.restore_button.click()
    assert record.ids == original
    assert window.workspace.stream_view.toPlainText().endswith(record.text())


def test_bad_model_keeps_the_old_one(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path, run_tokens: RunTokens
) -> None:
    window = workspace()
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\x03\x00\x00\x00" + b"\xff" * 40)
    window.load_model(str(bad))
    qtbot.waitUntil(lambda: window.error_dialog is not None, timeout=30_000)
    dialog = window.error_dialog
    assert dialog is not None and dialog.isVisible()
    assert "broken.gguf" in dialog.text() and "still loaded" in dialog.text()
    assert "Gemma 3" in window.model_label.text()
    dialog.accept()
    run_tokens(window, 4)
    assert window.workspace.record is not None and len(window.workspace.record.steps) == 4


def test_saved_session_reopens_the_same_view(
    qtbot: QtBot,
    workspace: Workspace,
    model_path: Path,
    tmp_path: Path,
    run_tokens: RunTokens,
    new_window: NewWindow,
) -> None:
    window = workspace()
    window.workspace.decoding.set_mode("sample")
    window.workspace.decoding.seed.setValue(7)
    run_tokens(window, 12)
    window.workspace.select_step(5)
    window.workspace.decoding.set_temperature(1.3)
    session = tmp_path / "run.json"
    window.files.save_session(session)
    csv_path = tmp_path / "steps.csv"
    window.files.export_csv(csv_path)
    with csv_path.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 12 and rows[0]["piece"] and float(rows[0]["p_model"]) > 0
    chart_png = tmp_path / "chart.png"
    assert window.files.export_chart(chart_png) and chart_png.stat().st_size > 1000

    other = new_window(str(model_path))
    other.files.open_session(session)
    assert other.workspace.prompt_edit.toPlainText() == window.workspace.prompt_edit.toPlainText()
    assert other.workspace.stream_view.toPlainText() == window.workspace.stream_view.toPlainText()
    assert other.workspace.settings() == window.workspace.settings()
    assert other.workspace.timeline.entropy == pytest.approx(window.workspace.timeline.entropy)
    assert other.workspace.chart.step is not None and other.workspace.chart.step.index == 5
    mine = [(b.token_id, b.label, b.p) for b in window.workspace.chart.bars]
    theirs = [(b.token_id, b.label, b.p) for b in other.workspace.chart.bars]
    assert theirs == mine
    assert (
        other.workspace.chart.draw_strip.isVisibleTo(other)
        and "u = " in other.workspace.chart.draw_strip.caption.text()
    )
    assert other.run_label.text() == window.run_label.text()


def test_a_bad_session_file_is_reported(
    qtbot: QtBot, model_path: Path, tmp_path: Path, new_window: NewWindow
) -> None:
    window = new_window(str(model_path))
    broken = tmp_path / "broken.json"
    broken.write_text('{"format": "llm-playground-session", "version": 1, "steps": 3}')
    window.files.open_session(broken)
    assert window.error_dialog is not None
    assert "broken.json" in window.error_dialog.text()
    assert window.workspace.record is None


def test_screenshot_after_a_generation(
    qtbot: QtBot, workspace: Workspace, capsys: pytest.CaptureFixture[str], run_tokens: RunTokens
) -> None:
    window = workspace()
    window.resize(1400, 860)
    window.workspace.color_mode.setCurrentIndex(1)  # colour by probability
    run_tokens(window, 24)
    window.workspace.select_step(8)
    path = Path(tempfile.gettempdir()) / "llm-playground-workspace.png"
    image = window.grab()
    assert image.save(str(path), "PNG")
    with capsys.disabled():
        print(f"\nworkspace screenshot: {path}")
    # Readable and coloured: the text area holds several distinct background colours.
    view = window.workspace.stream_view.viewport().grab().toImage()
    colours = {
        view.pixelColor(x, y).name()
        for x in range(0, view.width(), 7)
        for y in range(0, min(view.height(), 120), 5)
    }
    assert len(colours) > 8
    assert window.workspace.chart.bars and window.workspace.chart.plot.isVisible()


def test_beam_mode_shows_each_beams_candidates(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    window.workspace.decoding.set_mode("beam")
    window.workspace.decoding.beam_width.setValue(3)
    run_tokens(window, 6)
    record = window.workspace.record
    assert record is not None and len(record.steps) == 6
    assert len(record.beam_path) == 6
    window.workspace.select_step(2)
    panel = window.workspace.chart.beam_panel
    assert panel.isVisibleTo(window)
    assert "3 beam(s) expanded" in panel.text() and "best path" in panel.text()
    chosen = next(b for b in window.workspace.chart.bars if b.token_id == record.steps[2].id)
    assert chosen.color.name() == "#f59e0b"
    kept = {b.color.name() for b in window.workspace.chart.bars}
    assert "#34d399" in kept or "#c4b5fd" in kept  # the other candidates of this beam


def test_step_with_guess_first_hides_the_token_until_revealed(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    run_tokens(window, 3)
    record = window.workspace.record
    assert record is not None
    shown = window.workspace.stream_view.toPlainText()
    window.workspace.guess_box.setChecked(True)
    window.workspace.step_button.click()
    qtbot.waitUntil(lambda: window.workspace.step_button.text() == "Reveal", timeout=60_000)
    assert len(record.steps) == 4  # generated...
    assert len(window.workspace.stream_view.steps) == 3  # ...but not shown
    assert window.workspace.stream_view.toPlainText() == shown
    assert window.workspace.chart.step is record.steps[2]  # the chart would give it away
    window.workspace.step_button.click()  # Reveal
    assert window.workspace.step_button.text() == "Step"
    assert len(window.workspace.stream_view.steps) == 4
    assert window.workspace.chart.step is record.steps[3]
    assert window.workspace.stream_view.toPlainText().endswith(record.text())


def test_hover_text_and_timeline_are_linked_to_the_steps(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    run_tokens(window, 8)
    record = window.workspace.record
    assert record is not None
    view = window.workspace.stream_view
    start, _end = view.step_span(4)
    cursor = view.textCursor()
    cursor.setPosition(start)
    point = view.cursorRect(cursor).center()
    point.setX(point.x() + 3)
    assert view.step_at(point) == 4
    tip = view.tooltip_for(4)
    step = record.steps[4]
    assert f"id {step.id}" in tip and f"rank {step.rank + 1}" in tip and "top 5 (T = 1):" in tip
    # Resting the pointer there shows it (the tooltip event the viewport receives).
    help_event = QHelpEvent(QEvent.Type.ToolTip, point, view.viewport().mapToGlobal(point))
    QApplication.sendEvent(view.viewport(), help_event)
    assert f"id {step.id}" in QToolTip.text()
    QToolTip.hideText()
    qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point)
    assert window.workspace.chart.step is step
    # The timeline: a click on step 2's column selects it too.
    timeline = window.workspace.timeline
    vb = timeline.getPlotItem().getViewBox()
    scene = vb.mapViewToScene(QPointF(2.0, 1.0))
    qtbot.mouseClick(
        timeline.viewport(), Qt.MouseButton.LeftButton, pos=timeline.mapFromScene(scene)
    )
    assert window.workspace.chart.step is record.steps[1]
    assert len(timeline.entropy) == 8 and all(e >= 0 for e in timeline.entropy)


def test_continue_and_whitespace_markers(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    run_tokens(window, 5)
    record = window.workspace.record
    assert record is not None
    first = list(record.ids)
    window.workspace.decoding.max_tokens.setValue(4)
    window.workspace.continue_button.click()
    qtbot.waitUntil(lambda: not window.workspace.running and len(record.steps) == 9, timeout=60_000)
    assert record.ids[:5] == first
    assert [s.index for s in record.steps] == list(range(9))
    window.workspace.whitespace_box.setChecked(True)
    text = window.workspace.stream_view.toPlainText()
    assert "␣" in text and " " not in text  # every space of prompt and output is marked
    window.workspace.whitespace_box.setChecked(False)
    assert window.workspace.stream_view.toPlainText().endswith(record.text())


def test_dropping_a_gguf_file_loads_it(
    qtbot: QtBot, workspace: Workspace, model_path: Path, tmp_path: Path
) -> None:
    window = workspace()
    copy = tmp_path / "dropped-model.gguf"
    os.link(model_path, copy)  # a file of its own (a symlink resolves to the bundled model)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(copy))])
    event = QDropEvent(
        QPoint(10, 10),
        Qt.DropAction.CopyAction,
        mime,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    window.dropEvent(event)
    assert "Loading dropped-model.gguf" in window.model_label.text()
    qtbot.waitUntil(lambda: window.workspace.generate_button.isEnabled(), timeout=60_000)
    assert window.model_picker.currentText() == "dropped-model.gguf"
