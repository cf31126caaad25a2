"""Legends for the colours the text views use: probability, entropy, and Compare's marks."""

from __future__ import annotations

from PySide6.QtGui import QColor

from app.ui.widgets import palette


def _swatch(color: QColor, text: str) -> str:
    return f"<span style='background:{color.name()}'>&nbsp;&nbsp;&nbsp;</span>&nbsp;{text}"


MARKS = (
    " · <u>underlined</u>: forced by you · <b>bold</b> with an "
    f"<span style='color:{palette.SELECTED.name()}'>orange underline</span>: the step in the chart"
)


def probability_legend() -> str:
    steps = (0.01, 0.25, 0.5, 0.75, 1.0)
    swatches = "&nbsp;".join(_swatch(palette.probability_color(p), f"{p:.0%}") for p in steps)
    return f"p of the chosen token (the model, T = 1): {swatches}{MARKS}"


def entropy_legend() -> str:
    steps = (0.0, 2.0, 4.0, 6.0, palette.ENTROPY_FULL_BITS)
    swatches = "&nbsp;".join(
        _swatch(
            palette.entropy_color(bits),
            f"{bits:g}" + ("+" if bits == palette.ENTROPY_FULL_BITS else ""),
        )
        for bits in steps
    )
    return f"entropy of the step in bits (sure → unsure): {swatches}{MARKS}"


def boundaries_legend() -> str:
    return f"each token has its own background{MARKS}"


def compare_legend() -> str:
    return (
        f"<span style='color:{palette.EMPHASIS.name()}'><b>red words</b></span> differ from the "
        f"greedy pane · a <span style='color:{palette.DIVERGENCE.name()}'>wavy red "
        "underline</span> marks the step where the panes part"
    )


def beam_tree_legend() -> str:
    return (
        "columns are steps; each box is a candidate token with its log p (the model, "
        f"T = 1) · {_swatch(palette.KEPT_FILL, 'became a beam')} · "
        f"{_swatch(palette.PRUNED_FILL, 'pruned')}"
        f" · {_swatch(palette.BEST_FILL, 'the best hypothesis')} · "
        f"<span style='color:{palette.FINISHED_EDGE.name()}'>violet outline</span>: ended the text"
    )
