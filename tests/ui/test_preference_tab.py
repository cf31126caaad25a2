"""The Preference tab: the course's example, scored under a base and an instruct model
(here the same weights, one with a chat template: a margin of exactly 0, σ = 0.5), with the
table, the verdict and the per-token heat map; a missing model is asked for in words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from pytestqt.qtbot import QtBot

from app.ui.main_window import MainWindow


def test_the_course_example_under_the_same_weights_gives_no_margin(
    qtbot: QtBot,
    workspace: Callable[[], MainWindow],
    model_path: Path,
    chat_model_path: Path,
) -> None:
    window = workspace()
    view = window.course.preference
    window.tabs.setCurrentWidget(view)
    view.instruct.edit.setText("")
    view.start()
    assert "Choose a base model and its instruct model" in view.verdict.text()
    view.base.edit.setText(str(model_path))
    view.instruct.edit.setText(str(chat_model_path))
    view.start()
    qtbot.waitUntil(lambda: view.result is not None, timeout=120_000)
    result = view.result
    assert result is not None and result.margin == 0.0 and result.p_chosen == 0.5
    assert view.table.rowCount() == 2 and view.table.item(0, 0).text() == "chosen"
    assert view.table.item(0, 6).text() == "+0.0000"
    assert "σ(margin) = <b>0.500</b>" in view.verdict.text()
    assert "Chosen:" in view.heat.toPlainText() and "Rejected:" in view.heat.toPlainText()
    assert view.compare_button.isEnabled()
