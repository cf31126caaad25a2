"""Decoding settings: what the user chose, validated with messages a student can act on."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

from app.core.errors import SettingsError

Mode = Literal["greedy", "sample", "beam"]
MODES: tuple[Mode, ...] = ("greedy", "sample", "beam")
MAX_INT32 = 2**31 - 1  # llama.cpp takes counts as int32
MAX_TEMPERATURE = 100.0  # beyond it every distribution is uniform to the shown precision
MAX_BEAM_WIDTH = 16  # sequences one context holds (engine.MAX_SEQUENCES)
# Scores are logprob / length ** penalty: with |penalty| <= 10 and lengths within any
# context, the divisor stays far inside a float's range (1000 overflowed, -1000 gave 0).
MAX_LENGTH_PENALTY = 10.0


def _finite(name: str, value: float) -> None:
    if not math.isfinite(value):
        raise SettingsError(f"{name} must be a finite number, got {value}")


@dataclass(frozen=True)
class DecodingSettings:
    """One stream's decoding strategy.

    Sampling follows llama.cpp's chain order: top-k, then top-p, then min-p, then
    temperature, then the draw (Hugging Face applies temperature first). top_k = 0,
    top_p = 1 and min_p = 0 disable their step.
    """

    mode: Mode = "greedy"
    temperature: float = 0.8
    top_k: int = 40
    top_p: float = 0.95
    min_p: float = 0.05
    seed: int = 0
    beam_width: int = 4
    length_penalty: float | None = None
    max_tokens: int = 128
    stop: tuple[str, ...] = field(default_factory=tuple)

    def validated(self) -> DecodingSettings:
        if self.mode not in MODES:
            raise SettingsError(f"unknown mode '{self.mode}' (choose greedy, sample or beam)")
        _finite("temperature", self.temperature)
        if self.temperature < 0:
            raise SettingsError(f"temperature must be 0 or more, got {self.temperature:g}")
        if self.temperature > MAX_TEMPERATURE:
            raise SettingsError(
                f"temperature must be at most {MAX_TEMPERATURE:g}, got {self.temperature:g}"
            )
        if not 0 <= self.top_k <= MAX_INT32:
            raise SettingsError(f"top-k must be 0 (off) to {MAX_INT32:,}, got {self.top_k}")
        _finite("top-p", self.top_p)
        if not (0 < self.top_p <= 1):
            raise SettingsError(f"top-p must be in (0, 1], got {self.top_p:g}")
        _finite("min-p", self.min_p)
        if not (0 <= self.min_p <= 1):
            raise SettingsError(f"min-p must be in [0, 1], got {self.min_p:g}")
        if not 1 <= self.beam_width <= MAX_BEAM_WIDTH:
            raise SettingsError(f"beam width must be 1 to {MAX_BEAM_WIDTH}, got {self.beam_width}")
        if not 1 <= self.max_tokens <= MAX_INT32:
            raise SettingsError(f"max tokens must be 1 to {MAX_INT32:,}, got {self.max_tokens}")
        if self.seed < 0 or self.seed >= 2**32:
            raise SettingsError(f"seed must be in [0, 2^32), got {self.seed}")
        if self.length_penalty is not None:
            _finite("length penalty", self.length_penalty)
            if abs(self.length_penalty) > MAX_LENGTH_PENALTY:
                raise SettingsError(
                    f"length penalty must be between -{MAX_LENGTH_PENALTY:g} and "
                    f"{MAX_LENGTH_PENALTY:g}, got {self.length_penalty:g}"
                )
        if any(not s for s in self.stop):
            raise SettingsError("stop strings must not be empty")
        return self

    @property
    def is_greedy_choice(self) -> bool:
        """Sampling at T = 0 picks the argmax, as llama.cpp's temperature sampler does."""
        return self.mode == "greedy" or (self.mode == "sample" and self.temperature == 0)

    def with_(self, **changes: object) -> DecodingSettings:
        return replace(self, **changes)  # type: ignore[arg-type]
