"""What one decoding step produced, and what the views and the CLI show of it."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

import numpy as np
import numpy.typing as npt

from app.core.decoding.step_distribution import StepDistribution, TokenProb
from app.core.decoding.top_n_distribution import TopNDistribution

StopReason = Literal["eog", "max_tokens", "stop_string", "cancelled", "context_full"]
# How a step's token was chosen; "" when not recorded (sessions of earlier versions).
ChosenBy = Literal["greedy", "sample", "beam", ""]
# The whole vocabulary (a local engine) or the top N a server sent, the rest estimated.
Distribution = StepDistribution | TopNDistribution


@dataclass(frozen=True)
class SampleRecord:
    """How a sampled token was drawn: the chain's survivors and the uniform draw.

    `survivor_probs` is "what the sample was drawn from": softmax of the survivors'
    logits / T, renormalised over the survivors only (most likely first).
    """

    survivor_ids: npt.NDArray[np.int32]
    survivor_probs: npt.NDArray[np.float64]
    uniform: float  # the draw u in [0, 1); the token is where u lands on the cumulative sum
    chosen_index: int  # index of the drawn token among the survivors
    temperature: float = 1.0  # the T the survivors were renormalised at

    @property
    def chosen_id(self) -> int:
        return int(self.survivor_ids[self.chosen_index])

    def contains(self, token_id: int) -> bool:
        return bool(np.any(self.survivor_ids == token_id))


@dataclass(frozen=True)
class TokenStep:
    """One generated token with the distribution it was chosen from."""

    index: int
    id: int
    piece: bytes  # the token's bytes as they appear in the text (special tokens rendered)
    logit: float
    # T of the distribution `p`, `logprob` and `entropy` report: 1 (the model's own) for
    # every run; sessions saved by earlier versions may hold a sampling temperature.
    temperature: float
    distribution: Distribution
    sample: SampleRecord | None = None
    forced: bool = False
    chosen_by: ChosenBy = ""  # the decoding that produced it (a forced step keeps its own)
    # An end-of-generation token: it ends the text and adds nothing to it. Set once, where
    # the vocabulary is at hand (the decode loop, beam search, the worker for a forced
    # token), so no view has to ask llama.cpp.
    ends_generation: bool = False

    # Cached: the views ask for these again on every redraw, hover and export, and each
    # integrates the tail histogram. (A frozen dataclass still has a __dict__ for them.)
    @cached_property
    def logprob(self) -> float:
        return self.distribution.logprob(self.logit, self.temperature)

    @property
    def p(self) -> float:
        """p of the chosen token at this step's temperature (the run's T)."""
        return math.exp(self.logprob)

    @cached_property
    def logprob_model(self) -> float:
        """log p of the chosen token under the model's own distribution (T = 1)."""
        return self.distribution.logprob(self.logit, 1.0)

    @property
    def p_model(self) -> float:
        return math.exp(self.logprob_model)

    def p_at(self, temperature: float) -> float:
        """p of the chosen token at `temperature` (softmax over the whole vocabulary)."""
        return math.exp(self.distribution.logprob(self.logit, temperature))

    @property
    def decoded_alone(self) -> bool:
        """Whether the run decoded this token on its own (greedy and sampled runs do; beam
        search decodes its beams together): continuing after it can repeat that exactly."""
        return self.forced or self.chosen_by != "beam"

    @staticmethod
    def batched_prefix(steps: list[TokenStep]) -> int:
        """How many of `steps` (from the first) no single-stream run decoded one by one
        (up to the last beam step): they are decoded in batches, like a prompt."""
        return max((i + 1 for i, s in enumerate(steps) if not s.decoded_alone), default=0)

    @property
    def number(self) -> int:
        """The step's number as every view shows it: 1 for the first generated token."""
        return self.index + 1

    @cached_property
    def rank(self) -> int:
        return self.distribution.rank_of(self.logit)

    @cached_property
    def entropy(self) -> float:
        return self.distribution.entropy(self.temperature)

    @property
    def surprisal(self) -> float:
        """-log2 p of the chosen token, in bits."""
        return -self.logprob / math.log(2)

    def top(self, k: int, temperature: float | None = None) -> list[TokenProb]:
        return self.distribution.top(k, self.temperature if temperature is None else temperature)

    def rescored(self, temperature: float) -> TokenStep:
        """The same step seen at another temperature (no model call)."""
        return replace(self, temperature=temperature)

    def forcing(self, token_id: int, piece: bytes, logit: float) -> TokenStep:
        """Another token of this step's distribution, chosen by the user instead (whether
        it ends the text is for the engine's vocabulary to say)."""
        return replace(
            self,
            id=token_id,
            piece=piece,
            logit=logit,
            sample=None,
            forced=True,
            ends_generation=False,
        )


STOP_TEXT = {
    "eog": "the model ended its text",
    "max_tokens": "max tokens reached",
    "stop_string": "a stop string appeared",
    "cancelled": "stopped by you",
    "context_full": "the context is full",
    "error": "failed",
}


def describe_stop(reason: str) -> str:
    """A stop reason as the views write it ("max tokens reached", not "max_tokens")."""
    return STOP_TEXT.get(reason, reason.replace("_", " "))


@dataclass(frozen=True)
class BeamNode:
    """One candidate the search considered."""

    node_id: int
    parent: int  # node_id of the parent, -1 for the prompt
    step: int
    token: int
    piece: bytes
    logprob: float  # log p of this token given its parent (T = 1)
    score: float  # cumulative log p of the path up to here
    kept: bool  # became a beam (or a finished hypothesis)
    finished: bool  # ended the sequence (end-of-generation token)


@dataclass
class GenerationStats:
    prompt_tokens: int = 0
    generated_tokens: int = 0
    prefill_seconds: float = 0.0
    decode_seconds: float = 0.0
    time_to_first_token: float = 0.0

    @property
    def tokens_per_second(self) -> float:
        """Decode throughput after the first token (prefill excluded)."""
        after_first = self.generated_tokens - 1
        if after_first <= 0 or self.decode_seconds <= 0:
            return 0.0
        return after_first / self.decode_seconds

    def to_json(self) -> dict[str, float | int]:
        return {
            "prompt_tokens": self.prompt_tokens,
            "generated_tokens": self.generated_tokens,
            "prefill_seconds": round(self.prefill_seconds, 6),
            "decode_seconds": round(self.decode_seconds, 6),
            "time_to_first_token": round(self.time_to_first_token, 6),
            "tokens_per_second": round(self.tokens_per_second, 3),
        }
