""" "Guess first": how a student's typed guess ranked among the model's next tokens, and a
running score over the guesses of a session."""

from __future__ import annotations

import math
from dataclasses import dataclass

from app.core.decoding.step_records import TokenStep
from app.core.units import format_percent


@dataclass(frozen=True)
class GuessResult:
    guess: str
    token_id: int | None  # the most likely token whose text is the guess; None: not found
    rank: int  # 1 = the model's top choice; 0 when not found
    p: float  # under the model's own distribution (T = 1)
    searched: int  # how many of the most likely tokens were looked at

    @property
    def right(self) -> bool:
        return self.rank == 1


def _same(piece: bytes, guess: str) -> bool:
    text = piece.decode("utf-8", "replace")
    return text.strip() == guess.strip() and bool(guess.strip())


def rate_guess(step: TokenStep, guess: str, pieces: dict[int, bytes]) -> GuessResult:
    """Find `guess` among the step's most likely tokens (a leading space does not count,
    so "Paris" matches " Paris"): its rank and probability under the model (T = 1)."""
    dist = step.distribution
    if _same(step.piece, guess):  # the chosen token itself (its twin with a space may rank higher)
        return GuessResult(guess, step.id, step.rank + 1, step.p_model, 1)
    searched = 0
    for entry in step.top(dist.head_ids.size, 1.0):
        piece = pieces.get(entry.id)
        if piece is None:
            continue
        searched += 1
        if _same(piece, guess):
            return GuessResult(guess, entry.id, dist.rank_of(entry.logit) + 1, entry.p, searched)
    return GuessResult(guess, None, 0, math.nan, searched)


def describe_guess(result: GuessResult, step: TokenStep, guess: str, shown: str) -> str:
    """How `guess` fared, in a sentence; `shown` is the chosen token as the text shows it."""
    if result.token_id == step.id:
        verdict = f"Right: “{guess.strip()}” is the token chosen"
    elif result.token_id is not None:
        verdict = f"The model chose “{shown}”; your “{guess.strip()}” was"
    else:
        verdict = (
            f"The model chose “{shown}”; your “{guess.strip()}” is not among its "
            f"{result.searched} most likely tokens"
        )
    if result.token_id is not None:
        verdict += f" (rank {result.rank}, p = {format_percent(result.p)}, model T = 1)"
    return verdict


@dataclass
class GuessScore:
    """Guesses so far: how many were the model's choice, how many its top 5."""

    guesses: int = 0
    matched_choice: int = 0
    top5: int = 0

    def add(self, result: GuessResult, chosen_id: int) -> None:
        self.guesses += 1
        if result.token_id == chosen_id:
            self.matched_choice += 1
        if 1 <= result.rank <= 5:
            self.top5 += 1

    def summary(self) -> str:
        return (
            f"score: {self.matched_choice} of {self.guesses} guessed the token, "
            f"{self.top5} in the model's top 5"
        )
