"""In the window, a sampled run draws the seed's k-th uniform at step k whether it was
generated at once, continued, stepped, branched, or reopened from a saved session."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.core.decoding.sampler_chain import uniform_at
from app.ui.main_window import MainWindow

Workspace = Callable[[], MainWindow]
NewWindow = Callable[[str], MainWindow]


def _idle(qtbot: QtBot, window: MainWindow) -> None:
    qtbot.waitUntil(lambda: not window.workspace.running, timeout=120_000)


def _click_and_wait(qtbot: QtBot, window: MainWindow, button: object) -> None:
    button.click()  # type: ignore[attr-defined]
    _idle(qtbot, window)


def _sampling(window: MainWindow, max_tokens: int) -> None:
    ws = window.workspace
    ws.decoding.set_mode("sample")
    ws.decoding.seed.setValue(0)
    ws.decoding.set_temperature(1.0)
    ws.decoding.top_k.setValue(0)
    ws.decoding.top_p.setValue(1.0)
    ws.decoding.min_p.setValue(0.0)
    ws.decoding.max_tokens.setValue(max_tokens)


def _uniforms(window: MainWindow) -> list[float]:
    record = window.workspace.record
    assert record is not None
    return [s.sample.uniform for s in record.steps if s.sample is not None]


def test_generate_continue_and_steps_draw_one_stream(
    qtbot: QtBot, workspace: Workspace, tmp_path: Path, new_window: NewWindow, model_path: Path
) -> None:
    window = workspace()
    ws = window.workspace
    _sampling(window, 8)
    _click_and_wait(qtbot, window, ws.generate_button)
    _click_and_wait(qtbot, window, ws.continue_button)
    for _ in range(4):
        _click_and_wait(qtbot, window, ws.step_button)
        latest = len(_uniforms(window)) - 1
        assert f"u = {uniform_at(0, latest):.4f}" in ws.chart.draw_strip.caption.text()
    assert _uniforms(window) == [uniform_at(0, k) for k in range(20)]
    record = ws.record
    assert record is not None
    assert [s.index for s in record.steps] == list(range(20))
    pieced = list(record.ids)
    session = tmp_path / "run.json"
    window.files.save_session(session)

    # One uninterrupted run of 20 chooses the same tokens.
    ws.decoding.max_tokens.setValue(20)
    _click_and_wait(qtbot, window, ws.generate_button)
    assert ws.record is not None and ws.record.ids == pieced
    assert _uniforms(window) == [uniform_at(0, k) for k in range(20)]

    # Reopened and continued: the draws the original run would have used next.
    other = new_window(str(model_path))
    qtbot.waitUntil(lambda: other.workspace.generate_button.isEnabled(), timeout=90_000)
    other.files.open_session(session)
    other.workspace.decoding.max_tokens.setValue(4)
    _click_and_wait(qtbot, other, other.workspace.continue_button)
    assert _uniforms(other) == [uniform_at(0, k) for k in range(24)]
    reopened = other.workspace.record
    assert reopened is not None and reopened.ids[:20] == pieced
    ws.decoding.max_tokens.setValue(24)
    _click_and_wait(qtbot, window, ws.generate_button)
    assert ws.record is not None and reopened.ids == ws.record.ids


def test_a_branch_continues_with_the_original_draws(qtbot: QtBot, workspace: Workspace) -> None:
    window = workspace()
    ws = window.workspace
    _sampling(window, 12)
    _click_and_wait(qtbot, window, ws.generate_button)
    record = ws.record
    assert record is not None
    ws.select_step(5)
    row = next(i for i, b in enumerate(ws.chart.bars) if 0 <= b.token_id != record.ids[5])
    ws.chart.activate_row(row)
    _idle(qtbot, window)
    assert record.steps[5].forced and record.steps[5].sample is None
    assert len(record.steps) == 5 + 1 + 12
    draws = [s.sample.uniform for s in record.steps[6:] if s.sample is not None]
    assert draws == [uniform_at(0, k) for k in range(6, 18)]
