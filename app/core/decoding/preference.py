"""Chosen vs rejected, as DPO sees them: the log-probability of each answer under a base
model (standing in for the reference) and under its instruct model (standing in for the
policy), the implicit reward r = β · (log π_instruct − log π_base), and the margin
r(chosen) − r(rejected) with σ(margin), the probability the Bradley–Terry model gives the
chosen answer being preferred.

Both answers are formatted with the instruct model's chat template (the user's prompt,
then the answer as the assistant's reply) and both models score the same token ids, so
the two models must share their vocabulary. Only the answer's tokens count. The models
run one after the other: only one is in memory at a time.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from app.core.decoding.text_score import score_ids
from app.core.errors import PromptError
from app.core.llama.engine import Engine

DEFAULT_BETA = 0.1


@dataclass(frozen=True)
class AnswerScore:
    ids: tuple[int, ...]  # the answer's tokens
    pieces: tuple[str, ...]
    logp_base: tuple[float, ...]  # per answer token
    logp_instruct: tuple[float, ...]

    @property
    def sum_base(self) -> float:
        return math.fsum(self.logp_base)

    @property
    def sum_instruct(self) -> float:
        return math.fsum(self.logp_instruct)

    def reward(self, beta: float) -> float:
        return beta * (self.sum_instruct - self.sum_base)

    def log_ratios(self) -> tuple[float, ...]:
        """Per token: log π_instruct − log π_base (what post-training pushed up or down)."""
        return tuple(i - b for i, b in zip(self.logp_instruct, self.logp_base, strict=True))


@dataclass(frozen=True)
class Preference:
    chosen: AnswerScore
    rejected: AnswerScore
    beta: float
    notes: tuple[str, ...] = field(default=())

    @property
    def margin(self) -> float:
        return self.chosen.reward(self.beta) - self.rejected.reward(self.beta)

    @property
    def p_chosen(self) -> float:
        return 1.0 / (1.0 + math.exp(-self.margin))

    def to_json(self) -> dict[str, Any]:
        def answer(score: AnswerScore) -> dict[str, Any]:
            n = max(1, len(score.ids))
            return {
                "logp_base": score.sum_base,
                "logp_instruct": score.sum_instruct,
                "reward": score.reward(self.beta),
                "tokens": len(score.ids),
                "mean_logp_base": score.sum_base / n,
                "mean_logp_instruct": score.sum_instruct / n,
                "log_ratios": [
                    {"piece": p, "log_ratio": r}
                    for p, r in zip(score.pieces, score.log_ratios(), strict=True)
                ],
            }

        return {
            "chosen": answer(self.chosen),
            "rejected": answer(self.rejected),
            "beta": self.beta,
            "margin": self.margin,
            "p_chosen": self.p_chosen,
        }


class VocabularyMismatch(PromptError):
    """The base and instruct models tokenize differently: their log p cannot be compared."""


def vocabulary_of(engine: Engine) -> tuple[str, ...]:
    vocab = engine.vocab
    return tuple(vocab.text_of(i) for i in range(vocab.size))


def _formatted(instruct: Engine, prompt: str, answer: str) -> tuple[list[int], int]:
    """The conversation's ids and where the answer starts."""
    if not answer.strip():
        raise PromptError("an answer is empty")
    context = instruct.chat_prompt_ids(prompt)
    reply = instruct.vocab.tokenize(answer, add_bos=False)
    return context + reply, len(context)


def _answer_logps(engine: Engine, ids: list[int], start: int) -> list[float]:
    scored = score_ids(engine, ids, 0)
    return [t.logprob for t in scored.tokens[start - 1 :]]  # token i+1 given ids[: i+1]


def compare_answers(
    load: Callable[[str], Engine],
    base: str,
    instruct: str,
    prompt: str,
    answers: Sequence[str],
    beta: float = DEFAULT_BETA,
) -> Preference:
    """`answers` = (chosen, rejected), scored under `base` and `instruct` (model specs
    that `load` opens), one model at a time."""
    if not prompt.strip():
        raise PromptError("the prompt is empty")
    if not 0 < beta <= 100 or not math.isfinite(beta):
        raise PromptError(f"β must be above 0 and at most 100, got {beta}")
    with load(instruct) as engine:
        formatted = [_formatted(engine, prompt, a) for a in answers]
        words = vocabulary_of(engine)
        instruct_logps = [_answer_logps(engine, ids, start) for ids, start in formatted]
        pieces = [
            tuple(engine.vocab.piece(i).decode("utf-8", "backslashreplace") for i in ids[start:])
            for ids, start in formatted
        ]
    with load(base) as engine:
        if vocabulary_of(engine) != words:
            raise VocabularyMismatch(
                f"{Path(base).name} and {Path(instruct).name} do not share their vocabulary "
                f"({engine.vocab.size:,} and {len(words):,} tokens, or different entries): "
                "their log-probabilities of the same text cannot be compared"
            )
        base_logps = [_answer_logps(engine, ids, start) for ids, start in formatted]
    scores = [
        AnswerScore(tuple(ids[start:]), pieces[n], tuple(base_logps[n]), tuple(instruct_logps[n]))
        for n, (ids, start) in enumerate(formatted)
    ]
    return Preference(scores[0], scores[1], beta)
