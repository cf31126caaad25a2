"""Finding one's way: the Help menu, colour legends, hints, the guessing game, and the
small things a new user trips over (labels, the status bar, shared prompts, exports)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QImage
from PySide6.QtWidgets import QMenu
from pytestqt.qtbot import QtBot

from app.core.decoding.step_records import describe_stop
from app.ui.about_dialog import show_about
from app.ui.help_dialogs import GLOSSARY, show_glossary, show_shortcuts
from app.ui.main_window import MainWindow
from app.ui.widgets.chart_export import PNG_SCALE, export_size

Workspace = Callable[[], MainWindow]
RunTokens = Callable[[MainWindow, int], None]
TERMS = (
    "token", "logit", "softmax", "temperature", "entropy", "surprisal", "perplexity",
    "top-k", "top-p", "min-p", "beam", "log p",
)  # fmt: skip


def test_help_menu_glossary_shortcuts_and_about(qtbot: QtBot, workspace: Workspace) -> None:
    window = workspace()
    help_menu = next(
        a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Help"
    )
    titles = [a.text() for a in help_menu.actions() if a.text()]
    assert titles == ["Glossary", "Keyboard shortcuts", "Open log folder", "About LLM Playground"]
    glossary = show_glossary(window).browser.toPlainText()
    for term in TERMS:
        assert any(term in t for t, _ in GLOSSARY), term
        assert term in glossary, term
    actions = [a for m in window.menuBar().findChildren(QMenu) for a in m.actions()]
    shortcuts = show_shortcuts(window, actions).browser.toPlainText()
    assert "Ctrl+Return" in shortcuts and "Esc" in shortcuts and "Generate" in shortcuts
    about = show_about(window)
    assert "llama.cpp" in about.text() and "LGPL-3.0" in about.text() and "Gemma" in about.text()
    about.accept()
    assert "Open log folder" in [a.text() for a in help_menu.actions()]


def test_colour_legends_follow_the_colour_mode(qtbot: QtBot, workspace: Workspace) -> None:
    window = workspace()
    ws = window.workspace
    ws.color_mode.setCurrentIndex(1)
    assert "p of the chosen token" in ws.color_legend.text()
    ws.color_mode.setCurrentIndex(2)
    assert "entropy" in ws.color_legend.text() and "bits" in ws.color_legend.text()
    ws.color_mode.setCurrentIndex(0)
    assert "own background" in ws.color_legend.text()
    assert "red words" in window.compare.legend.text()
    assert "wavy red" in window.compare.legend.text()


def test_guess_first_scores_the_typed_guess(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    ws = window.workspace
    ws.prompt_edit.setPlainText("The capital of France is")
    ws.guess_box.setChecked(True)
    assert ws.guess_edit.isEnabled()
    ws.step_button.click()
    qtbot.waitUntil(lambda: ws.step_button.text() == "Reveal", timeout=60_000)
    record = ws.record
    assert record is not None and ws.stream_view.steps == []  # hidden until revealed
    answer = record.steps[-1].piece.decode()
    ws.guess_edit.setText(answer.strip())
    ws.step_button.click()  # Reveal
    assert ws.last_guess is not None and ws.last_guess.rank == record.steps[-1].rank + 1
    message = window.statusBar().currentMessage()
    assert message.startswith("Right") and "score: 1 of 1 guessed the token" in message
    ws.step_button.click()
    qtbot.waitUntil(lambda: ws.step_button.text() == "Reveal", timeout=60_000)
    ws.guess_edit.setText("zzqxj")
    ws.step_button.click()
    message = window.statusBar().currentMessage()
    assert "is not among its" in message and "score: 1 of 2 guessed the token" in message


def test_status_bar_labels_and_restored_speed(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens
) -> None:
    window = workspace()
    ws = window.workspace
    ws.step_button.click()
    qtbot.waitUntil(lambda: not ws.running and ws.record is not None, timeout=60_000)
    label = window.run_label.text()
    assert label.startswith("1 token ·") and "one step" in label and "max tokens" not in label
    window.tabs.setCurrentWidget(window.compare)
    assert not window.run_label.isVisible()
    window.tabs.setCurrentWidget(window.workspace)
    assert window.run_label.isVisible()

    run_tokens(window, 8)
    record = ws.record
    assert record is not None
    original = record.stats
    ws.select_step(3)
    row = next(i for i, b in enumerate(ws.chart.bars) if 0 <= b.token_id != record.ids[3])
    ws.chart.activate_row(row)
    qtbot.waitUntil(lambda: not ws.running, timeout=60_000)
    assert record.stats is not original
    ws.restore_button.click()
    assert record.stats is original
    assert describe_stop("max_tokens") == "max tokens reached"


def test_prompts_chat_panes_tab_focus_and_exports(
    qtbot: QtBot, workspace: Workspace, run_tokens: RunTokens, tmp_path: Path
) -> None:
    window = workspace()
    ws = window.workspace
    ws.prompt_edit.setPlainText("Once upon a time")
    assert window.compare.prompt_edit.toPlainText() == "Once upon a time"
    assert window.beam_view.prompt_edit.toPlainText() == "Once upon a time"
    window.beam_view.prompt_edit.setPlainText("In a galaxy")
    assert ws.prompt_edit.toPlainText() == "In a galaxy"
    for edit in (ws.prompt_edit, window.compare.prompt_edit, window.beam_view.prompt_edit):
        assert edit.tabChangesFocus()
    chat = window.compare._chat_actions
    assert chat and not any(a.isEnabled() for a in chat)
    assert all("has none" in a.text() for a in chat)

    run_tokens(window, 5)
    png = tmp_path / "chart.png"
    assert window.files.export_chart(png)
    image = QImage(str(png))
    size = export_size(ws.chart)
    assert (image.width(), image.height()) == (size.width() * PNG_SCALE, size.height() * PNG_SCALE)
    assert size.width() == ws.chart.plot.width()  # the plot itself, not the spin box row
    svg = tmp_path / "chart.svg"
    assert window.files.export_chart(svg) and svg.read_text().lstrip().startswith("<?xml")
    assert "<svg" in svg.read_text()

    ws.whitespace_box.setChecked(True)
    assert "␣\u200b" in ws.stream_view.toPlainText()  # a break opportunity after each mark
