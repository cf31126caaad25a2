"""The Score tab: the course's sentence scored by the loaded model, tokens coloured by
rank, figures that match the CLI's, a second model beside it, and hover text in words."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QTextCursor
from pytestqt.qtbot import QtBot

from app.core.decoding.text_score import score_text
from app.core.llama.engine import Engine
from app.ui.main_window import MainWindow
from app.ui.tabs.score_view import COURSE_TEXT
from app.ui.widgets.scored_text_view import rank_bucket


def test_the_course_sentence_scored_beside_a_second_model(
    qtbot: QtBot,
    workspace: Callable[[], MainWindow],
    engine: Engine,
    chat_model_path: Path,
) -> None:
    window = workspace()
    view = window.course.score
    window.tabs.setCurrentWidget(view)
    view.set_second_model(chat_model_path)  # the same weights, another file
    view.start()
    qtbot.waitUntil(lambda: all(p.score is not None for p in view.panes), timeout=120_000)
    first, second = (pane.score for pane in view.panes)
    assert first is not None and second is not None
    expected = score_text(engine, COURSE_TEXT)
    assert [t.id for t in first.tokens] == [t.id for t in expected.tokens]
    assert first.perplexity == expected.perplexity  # the CLI's numbers, to the bit
    assert "perplexity" in view.panes[0].figures.text() and "chunks of 64" in (
        view.panes[0].figures.text()
    )
    assert "equally surprising" in view.verdict.text()
    text = view.panes[0].text
    assert text.toPlainText() == "".join(t.piece for t in first.tokens)
    index = next(i for i, t in enumerate(first.tokens) if t.rank > 100)
    cursor = QTextCursor(text.document())
    cursor.setPosition(text.token_span(index)[0] + 1)  # the format of the token's first char
    shown = cursor.charFormat().background().color()
    label, colour = rank_bucket(first.tokens[index].rank)
    assert label == "beyond top 100" and shown == colour
    tip = text.tooltip_for(index)
    assert f"rank {first.tokens[index].rank:,}" in tip and "the model expected" in tip
    view.mode.setCurrentIndex(1)
    assert "surprisal" in view.legend.text()


def test_a_workspace_run_is_sent_to_the_score_tab(
    qtbot: QtBot, workspace: Callable[[], MainWindow], run_tokens: Callable[[MainWindow, int], None]
) -> None:
    window = workspace()
    view = window.course.score
    view.take_workspace_text()
    assert "generate there first" in view.verdict.text()
    run_tokens(window, 4)
    view.take_workspace_text()
    expected = window.workspace.record.prompt + window.workspace.record.text()  # type: ignore[union-attr]
    assert view.input.toPlainText() == expected
    qtbot.waitUntil(lambda: view.panes[0].score is not None, timeout=120_000)
    scored = view.panes[0].score
    assert scored is not None
    # The generated tokens were the model's greedy choices: rank 1 at the end of the text.
    assert [t.rank for t in scored.tokens[-3:]] == [1, 1, 1]
