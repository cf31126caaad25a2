"""The replay's states as rich text: the pre-tokenizer's rules, its split (each pre-token
coloured by the rule that cut it) and each step's pieces."""

from __future__ import annotations

import html

from app.core.tokenizer.replay_steps import (
    USER_TOKEN,
    MergeStep,
    Replay,
    UnigramStep,
    WordPieceStep,
)
from app.ui.widgets.token_text import visible_piece

# One light colour per rule (they repeat after eight); dark text is set on them so they
# read the same in a dark palette.
RULE_COLOURS = (
    "#bfdbfe",
    "#fde68a",
    "#bbf7d0",
    "#fecaca",
    "#ddd6fe",
    "#fed7aa",
    "#a5f3fc",
    "#f5d0fe",
)
BETWEEN_COLOUR = "#e5e7eb"  # text no expression matched: kept as one pre-token
USER_COLOUR = "#f0abfc"  # a user-defined token, cut out of the text before the rules
PIECE_COLOURS = ("#dbeafe", "#fde68a")  # alternate pieces inside a word
REST_COLOUR = "#f3f4f6"  # WordPiece: the part of a word still to cut
LONGEST_RULE_SHOWN = 90  # characters of an expression shown in the legend

TITLES = {
    "bpe": "BPE merge replay",
    "spm": "SentencePiece merge replay",
    "wordpiece": "WordPiece replay: longest match first, no merges",
    "unigram": "Unigram replay: the best-scoring cut, no merges",
}


def _text(text: str) -> str:
    return html.escape(text, quote=False)


def _chip(text: str, colour: str, extra: str = "") -> str:
    return (
        f"<span style='background:{colour}; color:#111827'>&nbsp;{_text(text)}&nbsp;</span>{extra}"
    )


def rule_colour(rule: int | None) -> str:
    if rule == USER_TOKEN:
        return USER_COLOUR
    if rule is None:
        return BETWEEN_COLOUR
    return RULE_COLOURS[rule % len(RULE_COLOURS)]


def _shown_rule(rule: str) -> str:
    shown = "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in rule)
    if len(shown) > LONGEST_RULE_SHOWN:
        shown = shown[: LONGEST_RULE_SHOWN - 1] + "…"
    return shown


def pre_tokenizer_line(replay: Replay) -> str:
    """One line naming the pre-tokenizer, above the steps."""
    count = len(replay.rules)
    rules = f" — {count} rule{'s' if count != 1 else ''}, listed below the steps" if count else ""
    return f"<b>Pre-tokenizer:</b> {_text(replay.pre_tokenizer)}{rules}"


def legend(replay: Replay) -> str:
    """The pre-tokenizer's name and its rules, in the colours of the split."""
    head = f"<b>Pre-tokenizer:</b> {_text(replay.pre_tokenizer)}"
    if not replay.rules:
        return ""  # the line above the steps says it all
    if replay.kind == "wordpiece":
        applied = "how it ends a word"
    elif len(replay.rules) > 1:
        applied = "its rules, applied one after another"
    else:
        applied = "its rule"
    items = [
        f"{_chip(str(number), rule_colour(number - 1))} <code>{_text(_shown_rule(rule))}</code>"
        for number, rule in enumerate(replay.rules, start=1)
    ]
    if replay.kind != "wordpiece":
        items.append(_chip(" ", BETWEEN_COLOUR) + " text between matches, kept whole")
    if USER_TOKEN in replay.pretoken_rules:
        items.append(
            _chip(" ", USER_COLOUR) + " a user-defined token of the vocabulary, cut out of the "
            "text before the rules run"
        )
    return f"{head} — {applied}:<br>" + "<br>".join(items)


def _subscript(rule: int | None) -> str:
    if rule == USER_TOKEN:
        return "<sub>user</sub>"
    return f"<sub>{rule + 1}</sub>" if rule is not None else ""


def split_state(replay: Replay) -> tuple[str, str]:
    """The caption and chips of the start: each pre-token coloured by its rule."""
    chips = " ".join(
        _chip(
            visible_piece(replay.pretoken_text(index).encode("utf-8")),
            rule_colour(rule),
            _subscript(rule),
        )
        for index, rule in enumerate(replay.pretoken_rules)
    )
    count = len(replay.pretokens)
    caption = f"start: the pre-tokenizer's split into {count} pre-token{'s' if count != 1 else ''}"
    if replay.kind == "wordpiece":
        caption += "; each is then cut from the left into the longest pieces that are tokens"
    elif replay.kind == "unigram":
        caption = (
            "start: the normalised text; the steps read it one character at a time and show "
            "the best-scoring cut so far"
        )
    else:
        caption += "; merges work inside each one, from its characters"
    return caption, chips


def step_caption(replay: Replay, position: int) -> str:
    step = replay.steps[position - 1]
    total = len(replay.steps)
    if isinstance(step, MergeStep):
        return f"merge {position} of {total}: {_text(step.left)} + {_text(step.right)}"
    if isinstance(step, UnigramStep):
        return (
            f"step {position} of {total}: the best cut of the first {step.position} "
            f"character{'s' if step.position != 1 else ''} scores {step.score:.2f} (the sum of "
            f"its pieces' log probabilities); it ends with “{_text(step.last)}” "
            f"({step.last_score:.2f})"
        )
    return f"step {position} of {total}: {_wordpiece_caption(step)}"


def _wordpiece_caption(step: WordPieceStep) -> str:
    kept = _text(step.kept)
    if not step.tried_count:
        return f"keeps “{kept}”, the rest of the word, a token as it is"
    tried = ", ".join(f"“{_text(t)}”" for t in step.tried)
    more = step.tried_count - len(step.tried)
    tail = f", and {more} more" if more > 0 else ""
    return f"keeps “{kept}” after trying {tried}{tail}: none of those is a token"


def step_chips(replay: Replay, position: int) -> str:
    """The pieces after `position` steps (0: each pre-token in characters)."""
    open_words = replay.open_words_at(position)
    shown: list[str] = []
    for index, word in enumerate(replay.pieces_at(position)):
        parts = []
        for k, piece in enumerate(word):
            rest = index in open_words and k == len(word) - 1
            parts.append(_chip(piece, REST_COLOUR if rest else PIECE_COLOURS[k % 2]))
        shown.append("".join(parts))
    return "&nbsp; ".join(shown)
