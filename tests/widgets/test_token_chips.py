"""The tokenizer's chips on their own, fed recorded tokenizations (English with a double
space and a newline, emoji, German): one chip per token in reading order, as wide as its
text, under the point token_at names; alternating backgrounds; plain_text is the text;
the whitespace and vocabulary options change what is drawn; tooltips, clicks, selection
and the marks of a compared tokenizer."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QFontMetricsF, QImage
from pytestqt.qtbot import QtBot
from recorded_steps import TokenizedSample

from app.ui.widgets.token_chips import TokenChips

ENGLISH, EMOJI, GERMAN = range(3)
SCAN_STEP = 3  # px between the rows of points probed with token_at


@pytest.fixture
def chips(qtbot: QtBot) -> TokenChips:
    widget = TokenChips()
    qtbot.addWidget(widget)
    widget.resize(460, 240)
    widget.show()
    return widget


@dataclass(frozen=True)
class Chip:
    """Where token_at finds a token: its rows of points and the x range they span."""

    top: int
    bottom: int
    left: int
    right: int

    def center(self) -> QPoint:
        return QPoint((self.left + self.right) // 2, (self.top + self.bottom) // 2)


def chips_under_points(chips: TokenChips) -> dict[int, list[Chip]]:
    """Every chip on screen, found by probing the viewport with token_at: for each token,
    one Chip per run of rows with the same x range (a token split by a line break has
    one on each line)."""
    width, height = chips.viewport().width(), chips.viewport().height()
    rows: dict[int, list[tuple[int, int, int]]] = {}
    for y in range(0, height, SCAN_STEP):
        hits = [chips.token_at(QPoint(x, y)) for x in range(width)]
        x = 0
        while x < width:
            token = hits[x]
            end = x
            while end + 1 < width and hits[end + 1] == token:
                end += 1
            if token >= 0:
                rows.setdefault(token, []).append((y, x, end))
            x = end + 1
    found: dict[int, list[Chip]] = {}
    for token, runs in rows.items():
        for y, left, right in runs:
            boxes = found.setdefault(token, [])
            last = boxes[-1] if boxes else None
            if last and (last.left, last.right) == (left, right) and y - last.bottom <= SCAN_STEP:
                boxes[-1] = Chip(last.top, y, left, right)
            else:
                boxes.append(Chip(y, y, left, right))
    return found


def pixels(chips: TokenChips) -> npt.NDArray[np.uint8]:
    """The viewport as drawn: rows x columns x BGRA."""
    image = chips.viewport().grab().toImage().convertToFormat(QImage.Format.Format_ARGB32)
    data = np.frombuffer(image.constBits(), dtype=np.uint8)
    rows = data.reshape(image.height(), image.bytesPerLine())
    return rows[:, : image.width() * 4].reshape(image.height(), image.width(), 4).copy()


def fill_of(image: npt.NDArray[np.uint8], chip: Chip) -> tuple[int, ...]:
    """The colour covering most of a chip: its background."""
    area = image[chip.top : chip.bottom + 1, chip.left : chip.right + 1].reshape(-1, 4)
    return Counter(map(tuple, area.tolist())).most_common(1)[0][0]


def text_width(chips: TokenChips, text: str) -> float:
    return max(QFontMetricsF(chips.viewport().font()).horizontalAdvance(text), 4.0)


@pytest.mark.parametrize("sample", [ENGLISH, EMOJI, GERMAN])
def test_one_chip_per_token_in_reading_order(
    chips: TokenChips, tokenized_samples: list[TokenizedSample], sample: int
) -> None:
    tokens = tokenized_samples[sample]
    chips.show_tokens(tokens.infos, tokens.split)
    assert chips.laid_out
    found = chips_under_points(chips)
    assert sorted(found) == list(range(len(tokens.infos)))
    image = pixels(chips)
    for index, info in enumerate(tokens.infos):
        (chip,) = found[index]
        text = (info.piece.decode("utf-8", "backslashreplace") or info.vocab_text).rstrip("\n")
        assert chip.right - chip.left + 1 == pytest.approx(text_width(chips, text), abs=1.5)
    # Left to right, line by line, in the order of the text.
    ordered = sorted(found, key=lambda k: (found[k][0].top, found[k][0].left))
    assert ordered == list(range(len(tokens.infos)))
    # Neighbouring tokens alternate between two backgrounds; special tokens (BOS, not in
    # the text; Gemma's whitespace runs, user-defined) have a third.
    fills = [fill_of(image, found[k][0]) for k in range(len(tokens.infos))]
    special = [k for k, t in enumerate(tokens.infos) if t.kind in ("control", "user_defined")]
    assert tokens.infos[0].vocab_text == "<bos>" and 0 in special
    bands = {k % 2: fills[k] for k in range(len(tokens.infos)) if k not in special}
    assert len(bands) == 2 and bands[0] != bands[1]
    for k, fill in enumerate(fills):
        assert fill == (fills[0] if k in special else bands[k % 2]), tokens.infos[k]
    assert fills[0] not in bands.values()
    # Nothing past the last chip.
    last = found[len(tokens.infos) - 1][0]
    assert chips.token_at(QPoint(last.right + 8, last.center().y())) == -1
    assert chips.token_at(QPoint(10, chips.viewport().height() - 2)) == -1


def test_a_newline_starts_a_new_line_of_chips(
    chips: TokenChips, tokenized_samples: list[TokenizedSample]
) -> None:
    tokens = tokenized_samples[ENGLISH]
    chips.show_tokens(tokens.infos, tokens.split)
    newline = next(k for k, t in enumerate(tokens.infos) if t.piece == b"\n")
    found = chips_under_points(chips)
    before, after = found[newline][0], found[newline + 1][0]
    assert after.top > before.bottom
    assert after.left < found[1][0].left + 2  # the next line starts at the margin


@pytest.mark.parametrize("sample", [ENGLISH, EMOJI, GERMAN])
def test_plain_text_round_trips_the_text(
    chips: TokenChips, tokenized_samples: list[TokenizedSample], sample: int
) -> None:
    tokens = tokenized_samples[sample]
    chips.show_tokens(tokens.infos, tokens.split)
    # BOS is not in the text: its chip shows its vocabulary string. A character split
    # over byte tokens cannot be drawn in parts: each of its chips shows its byte.
    text = tokens.text
    for group in tokens.split:
        text = text.replace(group.char, "".join(f"\\x{b:02x}" for b in group.char.encode()))
    assert chips.plain_text() == "<bos>" + text
    chips.set_options(vocabulary=True, whitespace=False)
    assert chips.plain_text() == "".join(t.vocab_text for t in tokens.infos)
    chips.set_options(vocabulary=False, whitespace=True)
    marked = text.replace(" ", "␣").replace("\t", "→").replace("\n", "↵\n")
    assert chips.plain_text() == "<bos>" + marked
    chips.set_options(vocabulary=False, whitespace=False)
    assert chips.plain_text() == "<bos>" + text


def test_whitespace_marks_change_what_is_drawn(
    chips: TokenChips, tokenized_samples: list[TokenizedSample]
) -> None:
    tokens = tokenized_samples[ENGLISH]
    chips.show_tokens(tokens.infos, tokens.split)
    double = next(k for k, t in enumerate(tokens.infos) if t.piece == b"  ")
    newline = next(k for k, t in enumerate(tokens.infos) if t.piece == b"\n")
    plain = pixels(chips)
    before = chips_under_points(chips)

    chips.set_options(vocabulary=False, whitespace=True)
    marked = chips_under_points(chips)
    assert not np.array_equal(pixels(chips), plain)
    width = marked[double][0].right - marked[double][0].left + 1
    assert width == pytest.approx(text_width(chips, "␣␣"), abs=1.5)
    # The newline's chip was a sliver; now it holds ↵.
    assert before[newline][0].right - before[newline][0].left + 1 <= 5
    width = marked[newline][0].right - marked[newline][0].left + 1
    assert width == pytest.approx(text_width(chips, "↵"), abs=1.5)

    chips.set_options(vocabulary=False, whitespace=False)
    assert np.array_equal(pixels(chips), plain)


def test_tooltips_name_the_id_kind_bytes_and_a_shared_character(
    chips: TokenChips, tokenized_samples: list[TokenizedSample]
) -> None:
    tokens = tokenized_samples[EMOJI]
    chips.show_tokens(tokens.infos, tokens.split)
    (flamingo,) = tokens.split
    assert flamingo.char == "🦩" and len(flamingo.tokens) == 4
    for k, byte in zip(flamingo.tokens, "🦩".encode(), strict=True):
        tip = chips.tooltip_for(k)
        assert f"<b>id {tokens.infos[k].id}</b> · byte" in tip
        assert f"bytes: <tt>{byte:02X}</tt>" in tip
        assert "one of 4 tokens that make up “🦩”" in tip
    pizza = next(k for k, t in enumerate(tokens.infos) if t.piece == "🍕".encode())
    tip = chips.tooltip_for(pizza)
    assert "bytes: <tt>F0 9F 8D 95</tt>" in tip and "one of" not in tip
    info = tokens.infos[pizza]
    assert f"byte offsets {info.start}–{info.end}" in tip and "normal" in tip
    bos = chips.tooltip_for(0)
    assert "control" in bos and "(none: not in the text)" in bos and "&lt;bos&gt;" in bos


def test_clicking_selecting_and_marking_chips(
    qtbot: QtBot, chips: TokenChips, tokenized_samples: list[TokenizedSample]
) -> None:
    tokens = tokenized_samples[GERMAN]
    chips.show_tokens(tokens.infos, tokens.split)
    found = chips_under_points(chips)
    plain = pixels(chips)
    munich = next(k for k, t in enumerate(tokens.infos) if t.piece == " München".encode())

    with qtbot.waitSignal(chips.token_clicked, timeout=1000) as clicked:
        qtbot.mouseClick(chips.viewport(), Qt.MouseButton.LeftButton, pos=found[munich][0].center())
    assert clicked.args == [munich]
    changed = np.argwhere((pixels(chips) != plain).any(axis=2))
    chip = found[munich][0]
    # The selection frame is drawn on the clicked chip, nowhere else.
    assert changed.size
    assert changed[:, 0].min() >= chip.top - SCAN_STEP and changed[:, 0].max() <= chip.bottom + 4
    assert changed[:, 1].min() >= chip.left - 1 and changed[:, 1].max() <= chip.right + 1
    chips.select_token(-1)
    assert np.array_equal(pixels(chips), plain)

    # A compared tokenizer split these differently: they are marked.
    chips.set_differing({2, 3})
    changed = np.argwhere((pixels(chips) != plain).any(axis=2))
    assert {chips.token_at(QPoint(int(x), int(y))) for y, x in changed} - {-1} == {2, 3}
    chips.set_differing(set())
    assert np.array_equal(pixels(chips), plain)
