"""Decoding settings: what the user chose, validated with messages a student can act on."""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Literal

from app.core.errors import SettingsError

Mode = Literal["greedy", "sample", "beam"]
MODES: tuple[Mode, ...] = ("greedy", "sample", "beam")


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
        if not math.isfinite(self.temperature) or self.temperature < 0:
            raise SettingsError(f"temperature must be 0 or more, got {self.temperature}")
        if self.top_k < 0:
            raise SettingsError(f"top-k must be 0 (off) or more, got {self.top_k}")
        if not (0 < self.top_p <= 1):
            raise SettingsError(f"top-p must be in (0, 1], got {self.top_p}")
        if not (0 <= self.min_p <= 1):
            raise SettingsError(f"min-p must be in [0, 1], got {self.min_p}")
        if self.beam_width < 1:
            raise SettingsError(f"beam width must be 1 or more, got {self.beam_width}")
        if self.max_tokens < 1:
            raise SettingsError(f"max tokens must be 1 or more, got {self.max_tokens}")
        if self.seed < 0 or self.seed >= 2**32:
            raise SettingsError(f"seed must be in [0, 2^32), got {self.seed}")
        if self.length_penalty is not None and not math.isfinite(self.length_penalty):
            raise SettingsError("length penalty must be a finite number")
        if any(not s for s in self.stop):
            raise SettingsError("stop strings must not be empty")
        return self

    @property
    def display_temperature(self) -> float:
        """The T of the "model distribution at temperature T" reported for this stream."""
        if self.mode == "sample" and self.temperature > 0:
            return self.temperature
        return 1.0

    @property
    def is_greedy_choice(self) -> bool:
        """Sampling at T = 0 picks the argmax, as llama.cpp's temperature sampler does."""
        return self.mode == "greedy" or (self.mode == "sample" and self.temperature == 0)

    def with_(self, **changes: object) -> DecodingSettings:
        return replace(self, **changes)  # type: ignore[arg-type]
