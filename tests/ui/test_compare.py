"""The Compare tab with the real default model: lockstep panes, divergence, metrics."""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.decoding.compare import first_divergence, repetition_score, sequence_metrics
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.llama.engine import Engine
from app.ui.main_window import MainWindow

Workspace = Callable[[], MainWindow]
TOKENS = 24


def _run(qtbot: QtBot, window: MainWindow) -> None:
    compare = window.compare
    window.tabs.setCurrentWidget(compare)
    compare.max_tokens.setValue(TOKENS)
    compare.run_button.click()
    assert compare.running
    qtbot.waitUntil(lambda: not compare.running, timeout=120_000)


def test_panes_equal_each_setting_run_alone(
    qtbot: QtBot, workspace: Workspace, engine: Engine
) -> None:
    window = workspace()
    compare = window.compare
    assert [p.settings.mode for p in compare.panes] == ["greedy", "sample"]
    _run(qtbot, window)
    prompt_ids = engine.tokenize_prompt(compare.prompt_edit.toPlainText())
    for pane in compare.panes:
        alone = generate(engine, prompt_ids, pane.settings.with_(max_tokens=TOKENS))
        assert pane.ids == alone.ids
        assert pane.text == alone.text
    ids = [p.ids for p in compare.panes]
    expected = next(i for i, (a, b) in enumerate(zip(*ids, strict=False)) if a != b)
    assert compare.divergence == expected
    assert f"part at step {expected + 1}" in compare.status.text()
    sampled = compare.panes[1]
    assert sampled.stream.divergence_step == expected
    assert sampled.stream.emphasis  # words that differ from the greedy pane
    assert not compare.panes[0].stream.emphasis  # the reference itself
    metrics = sequence_metrics(sampled.steps)
    assert f"perplexity {metrics.perplexity:.2f}" in sampled.metrics.text()
    assert math.isclose(
        metrics.logprob, sum(s.distribution.logprob(s.logit, 1.0) for s in sampled.steps)
    )


def test_added_and_removed_panes_run_together(qtbot: QtBot, workspace: Workspace) -> None:
    window = workspace()
    compare = window.compare
    added = compare.add_pane(DecodingSettings(mode="sample", temperature=1.2, seed=3))
    beam = compare.add_pane(DecodingSettings(mode="beam", beam_width=3))
    assert added is not None and beam is not None and len(compare.panes) == 4
    compare.remove_pane(compare.panes[1])
    assert len(compare.panes) == 3
    _run(qtbot, window)
    assert all(len(p.steps) > 0 for p in compare.panes)
    assert "log p" in beam.metrics.text()
    window.tabs.setCurrentIndex(0)
    assert window.workspace.generate_button.isEnabled()  # the engine is free again


def test_pane_token_click_shows_its_distribution(qtbot: QtBot, workspace: Workspace) -> None:
    window = workspace()
    _run(qtbot, window)
    pane = window.compare.panes[1]
    pane.step_clicked.emit(pane, 2)
    assert window.compare.chart.step is pane.steps[2]
    assert window.compare.chart.bars


def test_screenshot_of_the_compare_tab(
    qtbot: QtBot, workspace: Workspace, capsys: pytest.CaptureFixture[str]
) -> None:
    window = workspace()
    window.resize(1400, 860)
    _run(qtbot, window)
    path = Path(tempfile.gettempdir()) / "llm-playground-compare.png"
    assert window.grab().save(str(path), "PNG")
    with capsys.disabled():
        print(f"\ncompare screenshot: {path}")
    assert path.stat().st_size > 10_000


def test_divergence_and_repetition_rules() -> None:
    assert first_divergence([[1, 2, 3], [1, 2, 4]]) == 2
    assert first_divergence([[1, 2], [1, 2, 3]]) == 2
    assert first_divergence([[1, 2], [1, 2]]) is None
    assert repetition_score([5, 6, 7, 5, 6, 7, 5, 6, 7]) == pytest.approx(4 / 7)
    assert repetition_score([1, 2, 3, 4]) == 0.0


def test_chat_template_panes_base_and_instruct(
    qtbot: QtBot, workspace: Workspace, chat_model_path: Path
) -> None:
    """A chat pane on the base default model explains why it cannot run; a pane with a
    model that has a template shows the templated prompt, special tokens highlighted,
    and generates from it."""
    window = workspace()
    compare = window.compare
    base_chat = compare.add_pane(DecodingSettings(mode="greedy"), chat=True)
    instruct = compare.add_pane(
        DecodingSettings(mode="greedy"), model=str(chat_model_path), chat=True
    )
    assert base_chat is not None and instruct is not None
    assert "chat template" in instruct.title.text()
    _run(qtbot, window)
    assert "no chat template" in base_chat.note.text() and "base model" in base_chat.note.text()
    assert base_chat.metrics.text() == "did not run"
    assert "loaded for this pane" in instruct.note.text()
    shown = instruct.stream.toPlainText()
    assert shown.startswith("<bos><start_of_turn>user\n" + compare.prompt_edit.toPlainText())
    assert "<start_of_turn>model\n" in shown
    specials = [text for text, special in instruct.stream.prompt_tokens if special]
    assert specials[:2] == ["<bos>", "<start_of_turn>"]
    with Engine(chat_model_path) as chat_engine:
        ids = chat_engine.chat_prompt_ids(compare.prompt_edit.toPlainText())
        alone = generate(chat_engine, ids, DecodingSettings(mode="greedy", max_tokens=TOKENS))
    assert instruct.ids == alone.ids
    assert all(len(p.steps) > 0 for p in compare.panes[:2])  # the others still ran
