"""One run as the workspace shows it: the prompt, the settings and every step.

Continuing or branching a run appends to it; a branch keeps the steps it replaced so the
previous branch can be restored. Figures here (perplexity, surprisal) use each step's
reported distribution: the model's own (T = 1), whatever temperature a run sampled at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import BeamNode, TokenStep
from app.core.tokenizer.utf8_stream import Utf8Stream

LN2 = math.log(2)


@dataclass
class RunStats:
    tokens_per_second: float = 0.0
    time_to_first_token: float = 0.0


@dataclass
class RunRecord:
    prompt: str
    settings: DecodingSettings
    steps: list[TokenStep] = field(default_factory=list)
    stop_reason: str = ""
    stats: RunStats = field(default_factory=RunStats)
    # Beam search: every candidate the search considered (the steps follow the best beam).
    beam_nodes: list[BeamNode] = field(default_factory=list)
    beam_path: list[int] = field(default_factory=list)  # the best beam's node ids, by step
    # The pieces of every token the views label (chosen tokens and top alternatives),
    # looked up on the engine thread so the UI never calls into llama.cpp.
    pieces: dict[int, bytes] = field(default_factory=dict)

    def piece_of(self, token_id: int) -> bytes:
        return self.pieces.get(token_id, f"<{token_id}>".encode())

    @property
    def ids(self) -> list[int]:
        return [s.id for s in self.steps]

    def text(self, upto: int | None = None) -> str:
        """The generated text of the first `upto` steps (all by default)."""
        stream = Utf8Stream()
        for step in self.steps[:upto]:
            if not step.ends_generation:
                stream.push(step.piece)
        stream.flush()
        return stream.text

    def perplexity(self) -> float:
        """exp of the mean negative log-likelihood of the chosen tokens (nan if none)."""
        if not self.steps:
            return math.nan
        nll = -sum(step.logprob for step in self.steps) / len(self.steps)
        return math.exp(min(nll, 700.0))

    def cut(self, index: int) -> list[TokenStep]:
        """Drop steps from `index` on and return them (a branch replaces them)."""
        dropped = self.steps[index:]
        del self.steps[index:]
        self.stop_reason = ""
        return dropped


def surprisal_bits(step: TokenStep) -> float:
    """-log2 p of the chosen token."""
    return -step.logprob / LN2


def entropy_bits(step: TokenStep) -> float:
    return step.entropy / LN2


@dataclass(frozen=True)
class Branch:
    """Steps a branch replaced, to restore them later."""

    at: int  # index of the first replaced step
    steps: list[TokenStep]
    stop_reason: str
    stats: RunStats = field(default_factory=RunStats)  # the replaced run's speed
