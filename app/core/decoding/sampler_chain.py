"""llama.cpp's own truncation chain (top-k, top-p, min-p, temperature) without the draw.

The chain runs in C on our own `llama_token_data_array`, so the survivors are exactly
llama.cpp's; the draw is ours so the uniform number can be shown. Candidates are the
distribution's head when top-k makes that equivalent (top-k keeps at most k tokens,
and the head is a logit threshold, so it holds the top k with all ties); otherwise the
whole vocabulary.
"""

from __future__ import annotations

import contextlib
import ctypes
from typing import Any

import numpy as np
import numpy.typing as npt

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_distribution import StepDistribution
from app.core.decoding.step_records import SampleRecord
from app.core.llama.llama_runtime import llama

TOKEN_DATA = np.dtype([("id", np.int32), ("logit", np.float32), ("p", np.float32)])


def uniform_at(seed: int, step: int) -> float:
    """The draw of step `step` (0 = the first generated token) for `seed`.

    It is the `step`-th number of one PCG64 stream (each float64 takes one 64-bit output,
    so advancing by `step` skips exactly the earlier draws): a run continued, stepped,
    branched or reopened from a session draws what one uninterrupted run would have.
    """
    return float(np.random.Generator(np.random.PCG64(seed).advance(step)).random())


class SamplerChain:
    """One stream's truncation chain plus its seeded random stream, indexed by step."""

    def __init__(self, settings: DecodingSettings, vocab_size: int) -> None:
        self._lib = llama()
        self.settings = settings
        self._bits = np.random.PCG64(settings.seed)
        self._rng = np.random.Generator(self._bits)
        self._next_step = 0  # the step whose draw self._rng gives next
        lib = self._lib
        self._chain: Any = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
        if settings.top_k > 0:
            lib.llama_sampler_chain_add(self._chain, lib.llama_sampler_init_top_k(settings.top_k))
        if settings.top_p < 1.0:
            lib.llama_sampler_chain_add(
                self._chain, lib.llama_sampler_init_top_p(settings.top_p, 1)
            )
        if settings.min_p > 0.0:
            lib.llama_sampler_chain_add(
                self._chain, lib.llama_sampler_init_min_p(settings.min_p, 1)
            )
        lib.llama_sampler_chain_add(self._chain, lib.llama_sampler_init_temp(settings.temperature))
        self._full = np.empty(vocab_size, dtype=TOKEN_DATA)
        self._ids = np.arange(vocab_size, dtype=np.int32)
        self._array = lib.llama_token_data_array()

    def close(self) -> None:
        if self._chain:
            self._lib.llama_sampler_free(self._chain)
            self._chain = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()

    def survivors(
        self, dist: StepDistribution, logits: npt.NDArray[np.float32]
    ) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.float32]]:
        """(ids, logits / T) of the tokens the chain keeps, in the chain's order."""
        k = self.settings.top_k
        if 0 < k <= dist.head_ids.size:
            data = np.empty(dist.head_ids.size, dtype=TOKEN_DATA)
            data["id"] = dist.head_ids
            data["logit"] = dist.head_logits
            data["p"] = 0.0
        else:
            data = self._full  # the chain reorders it in place: refill ids too
            data["id"] = self._ids
            data["logit"] = logits
            data["p"] = 0.0
        arr = self._array
        arr.data = data.ctypes.data_as(ctypes.POINTER(self._lib.llama_token_data))
        arr.size = data.size
        arr.selected = -1
        arr.sorted = False
        self._lib.llama_sampler_apply(self._chain, ctypes.byref(arr))
        # The chain may have moved its view to a sub-range of our buffer.
        address = ctypes.cast(arr.data, ctypes.c_void_p).value or 0
        offset = (address - data.ctypes.data) // TOKEN_DATA.itemsize
        kept = data[offset : offset + arr.size]
        order = np.argsort(-kept["logit"], kind="stable")
        kept = kept[order]
        return kept["id"].copy(), kept["logit"].copy()

    def uniform(self, step: int) -> float:
        """The draw of step `step`, the same as `uniform_at(seed, step)`."""
        if step != self._next_step:
            self._bits = np.random.PCG64(self.settings.seed).advance(step)
            self._rng = np.random.Generator(self._bits)
        self._next_step = step + 1
        return float(self._rng.random())

    def draw(
        self, dist: StepDistribution, logits: npt.NDArray[np.float32], step: int
    ) -> SampleRecord:
        """Run the chain, then draw from the renormalised survivors with step `step`'s u."""
        ids, scaled = self.survivors(dist, logits)
        if self.settings.temperature <= 0:
            # llama.cpp's temperature sampler at T <= 0 keeps the argmax only.
            probs = np.zeros(ids.size)
            probs[0] = 1.0
        else:
            shifted = scaled.astype(np.float64) - float(scaled.max())
            weights = np.exp(shifted)
            probs = weights / weights.sum()
        u = self.uniform(step)
        cumulative = np.cumsum(probs)
        index = int(np.searchsorted(cumulative, u * cumulative[-1], side="right"))
        index = min(index, ids.size - 1)
        return SampleRecord(
            survivor_ids=ids,
            survivor_probs=probs,
            uniform=u,
            chosen_index=index,
            temperature=self.settings.temperature,
        )
