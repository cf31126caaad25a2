"""Every colour the views give to tokens, steps and beams, in one place: a token looks
the same in the Workspace's text, the Tokenizer's chips, the chart, the timeline and the
beam tree, and a legend names the colour the view actually uses."""

from __future__ import annotations

from PySide6.QtGui import QColor

# Tokens in text: alternating bands mark the boundaries; dark text on the light bands
# reads in light and dark themes.
TOKEN_BANDS = (QColor("#dbeafe"), QColor("#fde68a"))
TOKEN_TEXT = QColor("#111827")
PROMPT_TEXT = QColor("#6b7280")
SPECIAL_TEXT = QColor("#6d28d9")  # control tokens: turn markers, BOS, user-defined
SPECIAL_BACKGROUND = QColor("#ede9fe")
BYTE_TOKEN_TEXT = QColor("#c2410c")  # byte-fallback tokens (<0xE2>)
SPLIT_CHARACTER = QColor("#dc2626")  # tokens that share one character
SELECTED = QColor("#f97316")  # the step or token selected (the chart shows it)
HOVERED = QColor("#fb923c")
DIFFERENT = QColor("#be123c")  # split differently by a compared tokenizer
EMPHASIS = QColor("#b91c1c")  # words that differ from the reference text (Compare)
DIVERGENCE = QColor("#dc2626")  # where the runs part

# The chart and the draw strip.
BAR = QColor("#60a5fa")  # kept by the truncation chain / a candidate
CHOSEN = QColor("#f59e0b")
CUT = QColor("#d1d5db")  # cut by top-k / top-p / min-p
KEPT_BEAM = QColor("#34d399")
PRUNED_BEAM = QColor("#c4b5fd")
OTHERS = QColor("#9ca3af")  # the rest of the vocabulary
DRAW_LINE = QColor("#dc2626")  # where the uniform draw landed

# The timeline.
ENTROPY_PEN = QColor("#7c3aed")
SURPRISAL_PEN = QColor("#ea580c")

# The beam tree.
KEPT_FILL = QColor("#d1fae5")
KEPT_EDGE = QColor("#059669")
PRUNED_FILL = QColor("#f3f4f6")
PRUNED_EDGE = QColor("#9ca3af")
BEST_FILL = QColor("#fde68a")
BEST_EDGE = QColor("#d97706")
FINISHED_EDGE = QColor("#7c3aed")
ROOT_EDGE = QColor("#4b5563")
ROOT_FILL = QColor("#e5e7eb")

ENTROPY_FULL_BITS = 8.0  # the entropy colour saturates here


def probability_color(p: float) -> QColor:
    """Red for unlikely, through yellow, to green for likely chosen tokens."""
    hue = max(0.0, min(1.0, p)) * 120.0
    return QColor.fromHslF(hue / 360.0, 0.85, 0.80)


def entropy_color(bits: float) -> QColor:
    """Pale for a confident step, deep violet for an uncertain one."""
    level = max(0.0, min(1.0, bits / ENTROPY_FULL_BITS))
    return QColor.fromHslF(270 / 360.0, 0.75, 0.95 - 0.30 * level)
