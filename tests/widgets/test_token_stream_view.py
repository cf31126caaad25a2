"""The generated text on its own, fed recorded runs: the text is the run's text whether
it arrives in batches or at once, each step's span holds its token, an end of generation
adds nothing, the colour modes paint boundaries, probability and entropy, and the
tooltip, selection, hover and click name the right step."""

from __future__ import annotations

import itertools

import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QColor, QFont, QTextCursor
from pytestqt.qtbot import QtBot
from recorded_steps import reference_entropy_bits, reference_probabilities

from app.core.runs.run_record import RunRecord
from app.core.units import format_percent
from app.ui.widgets.token_stream_view import TokenStreamView


@pytest.fixture
def view(qtbot: QtBot) -> TokenStreamView:
    widget = TokenStreamView()
    qtbot.addWidget(widget)
    widget.resize(760, 420)
    widget.show()
    return widget


def show_run(view: TokenStreamView, run: RunRecord) -> None:
    view.pieces = run.pieces
    view.set_steps(run.prompt, run.steps)


def span_text(view: TokenStreamView, index: int) -> str:
    start, end = view.step_span(index)
    cursor = QTextCursor(view.document())
    cursor.setPosition(start)
    cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
    return cursor.selectedText().replace("\u2029", "\n")  # Qt's paragraph separator


def background(view: TokenStreamView, position: int) -> QColor:
    """The background of the character at `position` in the text."""
    cursor = QTextCursor(view.document())
    cursor.setPosition(position + 1)  # a cursor reports the format of the character before it
    return cursor.charFormat().background().color()


def token_backgrounds(view: TokenStreamView, run: RunRecord) -> list[QColor]:
    return [background(view, view.step_span(i)[0]) for i in text_steps(run)]


def text_steps(run: RunRecord) -> list[int]:
    return [i for i, s in enumerate(run.steps) if not s.ends_generation]


def point_on(view: TokenStreamView, index: int) -> QPoint:
    """A viewport point on the first character of step `index`'s text."""
    cursor = QTextCursor(view.document())
    cursor.setPosition(view.step_span(index)[0])
    point = view.cursorRect(cursor).center()
    return QPoint(point.x() + 3, point.y())


@pytest.mark.parametrize("name", ["greedy", "sampled"])
def test_text_is_the_runs_text_and_each_span_its_token(
    request: pytest.FixtureRequest, view: TokenStreamView, name: str
) -> None:
    run: RunRecord = request.getfixturevalue(f"{name}_run")
    # As a live run shows it: the prompt, then batches of steps, then the end.
    view.start(run.prompt)
    for start in range(0, len(run.steps), 5):
        view.append_steps(run.steps[start : start + 5])
    view.finish()
    streamed = [view.step_span(i) for i in range(len(run.steps))]
    assert view.toPlainText() == run.prompt + run.text()
    assert view.generated_text == run.text()
    position = len(run.prompt)
    for index, step in enumerate(run.steps):
        start, end = view.step_span(index)
        assert start == position, f"step {index + 1} does not follow the one before"
        if not step.ends_generation:
            assert span_text(view, index) == step.piece.decode("utf-8")
        position = end

    # An opened session shows the same text, token for token.
    show_run(view, run)
    assert view.toPlainText() == run.prompt + run.text()
    assert [view.step_span(i) for i in range(len(run.steps))] == streamed


def test_an_end_of_generation_step_adds_no_text(
    view: TokenStreamView, greedy_run: RunRecord
) -> None:
    last = len(greedy_run.steps) - 1
    eos = greedy_run.steps[last]
    assert eos.ends_generation and eos.piece == b"<eos>"
    show_run(view, greedy_run)
    start, end = view.step_span(last)
    assert start == end == len(view.toPlainText())
    assert view.toPlainText().endswith("\nA: Paris")
    assert "<eos>" not in view.toPlainText() and "<eos>" not in view.generated_text
    view.select_step(last)  # nothing to mark: the step has no text
    assert view.extraSelections() == []

    view.start(greedy_run.prompt)
    view.append_steps(greedy_run.steps)
    view.finish()
    assert view.toPlainText() == greedy_run.prompt + greedy_run.text()
    assert view.step_span(last) == (len(view.toPlainText()),) * 2


def test_colour_modes_paint_boundaries_probability_and_entropy(
    view: TokenStreamView, sampled_run: RunRecord
) -> None:
    show_run(view, sampled_run)
    steps = [sampled_run.steps[i] for i in text_steps(sampled_run)]
    assert view.color_mode == "boundaries"
    bands = [c.name() for c in token_backgrounds(view, sampled_run)]
    # Neighbouring tokens alternate between two colours.
    assert len(set(bands)) == 2
    assert all(a != b for a, b in itertools.pairwise(bands))
    prompt = QTextCursor(view.document())
    prompt.setPosition(1)
    assert prompt.charFormat().background().style() == Qt.BrushStyle.NoBrush

    view.set_color_mode("probability")
    colours = token_backgrounds(view, sampled_run)
    p = [reference_probabilities(s.distribution, 1.0)[s.id] for s in steps]
    # Red for unlikely through green for likely: the hue follows the chosen token's p.
    for (p1, c1), (p2, c2) in itertools.combinations(zip(p, colours, strict=True), 2):
        if p2 - p1 > 0.05:
            assert c2.hslHueF() > c1.hslHueF(), (p1, p2)
    assert len({c.name() for c in colours}) > 2

    view.set_color_mode("entropy")
    colours = token_backgrounds(view, sampled_run)
    bits = [reference_entropy_bits(s.distribution) for s in steps]
    # Pale for a confident step, deeper for an uncertain one.
    for (b1, c1), (b2, c2) in itertools.combinations(zip(bits, colours, strict=True), 2):
        if b2 - b1 > 0.3:
            assert c2.lightnessF() < c1.lightnessF(), (b1, b2)
    assert [c.name() for c in colours] != bands

    with pytest.raises(ValueError, match="colour mode"):
        view.set_color_mode("rainbow")


def test_whitespace_marks_show_spaces_and_newlines(
    view: TokenStreamView, greedy_run: RunRecord
) -> None:
    show_run(view, greedy_run)
    newline = next(i for i, s in enumerate(greedy_run.steps) if s.piece == b"\n")
    paris = next(i for i, s in enumerate(greedy_run.steps) if s.piece == b" Paris")
    view.set_show_whitespace(True)
    assert span_text(view, newline) == "↵\n"
    assert span_text(view, paris).replace("\u200b", "") == "␣Paris"
    unmarked = view.toPlainText().replace("␣\u200b", " ").replace("↵\n", "\n")
    assert unmarked == greedy_run.prompt + greedy_run.text()
    assert view.generated_text == greedy_run.text()  # the text itself is unchanged
    view.set_show_whitespace(False)
    assert view.toPlainText() == greedy_run.prompt + greedy_run.text()


def test_tooltip_names_the_token_its_p_rank_and_alternatives(
    view: TokenStreamView, sampled_run: RunRecord
) -> None:
    show_run(view, sampled_run)
    index = 5  # " no": drawn from rank 23
    step = sampled_run.steps[index]
    assert step.sample is not None
    p = reference_probabilities(step.distribution, 1.0)
    tip = view.tooltip_for(index)
    assert f"<b>“␣no”</b> · id {step.id}" in tip
    assert f"step {index + 1} · rank {step.rank + 1}" in tip and step.rank == 22
    assert f"model (T = 1): p = {format_percent(step.p_model)}" in tip
    assert step.p_model == pytest.approx(p[step.id], rel=2e-3)
    assert f"among {step.sample.survivor_ids.size} survivors" in tip
    top5 = sorted(p, key=lambda t: -p[t])[:5]
    alternatives = tip.split("top 5 (T = 1): ")[1]
    names = [sampled_run.pieces[t].decode().replace(" ", "␣") for t in top5]
    assert [part.rsplit(" ", 1)[0] for part in alternatives.split(", ")] == names
    assert "chart (T =" not in tip
    view.set_view_temperature(0.5)
    assert f"chart (T = 0.50): p = {format_percent(step.p_at(0.5))}" in view.tooltip_for(index)


def test_select_hover_and_click_mark_the_step(
    qtbot: QtBot, view: TokenStreamView, sampled_run: RunRecord
) -> None:
    show_run(view, sampled_run)
    view.select_step(7)
    (mark,) = view.extraSelections()
    assert (mark.cursor.selectionStart(), mark.cursor.selectionEnd()) == view.step_span(7)
    assert mark.format.fontWeight() == QFont.Weight.Bold

    assert view.step_at(point_on(view, 3)) == 3
    with qtbot.waitSignal(view.step_hovered, timeout=1000) as hovered:
        qtbot.mouseMove(view.viewport(), point_on(view, 3))
    assert hovered.args == [3]
    spans = {(m.cursor.selectionStart(), m.cursor.selectionEnd()) for m in view.extraSelections()}
    assert spans == {view.step_span(3), view.step_span(7)}
    with qtbot.waitSignal(view.step_clicked, timeout=1000) as clicked:
        qtbot.mouseClick(view.viewport(), Qt.MouseButton.LeftButton, pos=point_on(view, 10))
    assert clicked.args == [10]

    view.select_step(-1)
    view.hover_step(-1)
    assert view.extraSelections() == []
    # The prompt is no step.
    assert view.step_at(point_on(view, 0) - QPoint(40, 0)) == -1
