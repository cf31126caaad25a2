"""`llm-playground bpe`: the replay of a text as JSON or as lines."""

from __future__ import annotations

from typing import Any

from app.core.tokenizer.replay_steps import USER_TOKEN, MergeStep, Replay, WordPieceStep
from app.core.units import printable


def rule_label(replay: Replay, rule: int | None) -> str:
    """Which expression (numbered from 1) or rule made a pre-token."""
    if rule == USER_TOKEN:
        return "user-defined token"
    if rule is None:
        return "between matches" if replay.rules else "whole text"
    return f"rule {rule + 1}"


def replay_document(replay: Replay) -> dict[str, Any]:
    steps: list[dict[str, Any]] = []
    for number, step in enumerate(replay.steps):
        if isinstance(step, MergeStep):
            steps.append(
                {
                    "pretoken": step.pretoken,
                    "merge": [step.left, step.right],
                    "pieces": list(replay.word_after(number)),
                }
            )
        elif isinstance(step, WordPieceStep):
            steps.append(
                {
                    "pretoken": step.pretoken,
                    "keep": step.kept,
                    "tried": list(step.tried),
                    "tried_count": step.tried_count,
                    "pieces": list(replay.word_after(number)),
                }
            )
        else:
            steps.append(
                {
                    "pretoken": step.pretoken,
                    "read": step.position,
                    "best_score": step.score,
                    "ends_with": step.last,
                    "ends_with_score": step.last_score,
                    "pieces": list(replay.word_after(number)),
                }
            )
    return {
        "kind": replay.kind,
        "pre_tokenizer": replay.pre_tokenizer,
        "rules": list(replay.rules),
        "pretokens": replay.pretokens,
        "pretoken_rules": [
            "user-defined" if rule == USER_TOKEN else rule for rule in replay.pretoken_rules
        ],
        "steps": steps,
        "tokens": replay.tokens,
    }


def replay_text(replay: Replay) -> str:
    """The replay as lines for a terminal: control characters in the text are escaped, so
    a piece can neither break a line nor send the terminal a command."""
    return "\n".join(printable(line) for line in _lines(replay)) + "\n"


def _lines(replay: Replay) -> list[str]:
    lines = [f"pre-tokenizer: {replay.pre_tokenizer}"]
    for number, rule in enumerate(replay.rules, start=1):
        lines.append(f"  rule {number}: {rule!r}")
    lines.append(
        "split: "
        + " | ".join(
            f"{word} [{rule_label(replay, rule)}]"
            for word, rule in zip(replay.pretokens, replay.pretoken_rules, strict=True)
        )
    )
    start = [piece for word in replay.initial for piece in word]
    lines.append("start: " + " | ".join(start))
    for number, step in enumerate(replay.steps, start=1):
        if isinstance(step, MergeStep):
            what = f"{step.left} + {step.right}"
        elif isinstance(step, WordPieceStep):
            what = f"keep {step.kept} (after {step.tried_count} longer tries)"
        else:
            what = f"best cut of {step.position} characters, score {step.score:.3f}"
        word = " | ".join(replay.word_after(number - 1))
        lines.append(f"{number:>3}. {what}: [pre-token {step.pretoken + 1}] {word}")
    lines.append(f"tokens: {replay.tokens}")
    return lines
