"""Which of a step's most likely tokens top-k, top-p and min-p would keep.

The chart previews the truncation for the settings on screen, for any step (also one
generated greedily). It follows llama.cpp's chain in order: top-k keeps the k most
likely; top-p takes the softmax at T = 1 over what is left and keeps tokens until the
cumulative probability reaches p (the one that crosses it included); min-p keeps tokens
whose logit is at least max + ln(min_p). Sampled steps also carry the chain's own
survivors (`SampleRecord`), which `tests/core/test_sampling.py` checks this against.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_distribution import StepDistribution
from app.core.decoding.top_n_distribution import TopNDistribution


def survivor_mask(
    dist: StepDistribution | TopNDistribution, settings: DecodingSettings, count: int
) -> npt.NDArray[np.bool_]:
    """For the `count` most likely tokens (head order), whether the chain keeps each."""
    count = min(count, dist.head_ids.size)
    logits = dist.head_logits[:count].astype(np.float64)
    keep = np.ones(count, dtype=bool)
    k = settings.top_k
    if k > 0:
        keep &= np.arange(count) < k
    if settings.top_p < 1.0:
        if 0 < k <= dist.head_ids.size:
            candidates = dist.head_logits[:k].astype(np.float64)
            probs = np.exp(candidates - candidates.max())
            probs /= probs.sum()
        else:
            probs = dist.head_probabilities(1.0)
        # Past top-k's cut (fewer candidates than rows) nothing is kept anyway.
        n = min(probs.size, count)
        before = np.concatenate(([0.0], np.cumsum(probs[:n])[:-1]))
        keep[:n] &= before < settings.top_p
    if settings.min_p > 0.0:
        keep &= logits >= dist.max_logit + math.log(settings.min_p)
    if count:
        keep[0] = True  # every sampler keeps at least one token
    return keep
