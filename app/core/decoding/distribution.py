"""One next-token distribution, summarised so it can be shown and re-scored exactly.

`analyze_logits` turns a full logits row (262,144 floats for Gemma 3) into a small
`StepDistribution` with one vectorised pass (the maximum) and one pass of a small C loop
(`_logit_histogram.c`), about 0.15 ms for 262,144 logits on a 2-core CPU (the C pass
counts the two halves of the row on two threads where llama.cpp runs on OpenMP):

* the *head*: every token whose logit is within `HEAD_MARGIN` logits of the maximum (at
  least `HEAD_MIN` tokens, all ties included), stored exactly as (id, logit);
* the *tail*: every other token, as a histogram of its distance below the maximum in
  bins of 1/`BINS_PER_LOGIT` logits.

Softmax at any temperature T is then exact for the head; the tail's share of the
normalizer sum(exp((z - max) / T)) is integrated over the histogram. The tail starts
8 logits below the maximum, so below T = 0.5 its share is < 1e-10, and up to T = 2 the
error in a probability stays under 5e-6 (measured on real Gemma 3 logits and on a
random-weight Llama-shaped model: the position of a token inside its bin is what is
lost, an error proportional to the bin width; 128 bins per logit gave 8e-6 to 9e-6).
The counts are stored as uint16 when they fit: about 20 KB per step for Gemma 3.
`tests/core/test_greedy_and_probabilities.py` checks it against a full-vocabulary
softmax at temperatures from 0.05 to 2.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import numpy.typing as npt

from app.core.errors import ModelOutputError

BINS_PER_LOGIT = 256
HEAD_MARGIN = 8.0  # logits below the maximum that are always kept exactly
HEAD_MIN = 64  # at least this many tokens kept exactly (the chart shows up to 50)
HEAD_MAX = 16384  # never store more than this many exactly (very flat distributions)
# Tokens further below the maximum share the last bin: e^(-256 / T) is nothing at any T
# the app offers.
MAX_DISTANCE_BINS = 256 * BINS_PER_LOGIT
# The histogram pass also collects the tokens within CANDIDATE_MARGIN logits of the
# maximum (at most MAX_CANDIDATES): usually a superset of the head, found without
# another pass over the row.
CANDIDATE_MARGIN = 12.0
MAX_CANDIDATES = 8192
SPAN_HEADROOM = 8.0  # logits added to the previous row's span when sizing the histogram
# The histogram always reaches this far below the maximum. Tokens further down than the
# histogram reaches share its last bin; at 64 logits each weighs e^(-32) or less at
# T <= 2, so even 262,144 of them move no probability by 1e-8. Deeper rows get a second
# pass sized from their true minimum.
MIN_SPAN = 64.0

FloatArray = npt.NDArray[np.float64]
_GAUSS_LEGENDRE_3 = ((-math.sqrt(3 / 5), 5 / 9), (0.0, 8 / 9), (math.sqrt(3 / 5), 5 / 9))


@dataclass(frozen=True)
class TokenProb:
    id: int
    logit: float
    p: float


class LogitsScratch:
    """Reusable buffers for `analyze_logits`: the histogram and the head candidates."""

    def __init__(self, vocab_size: int) -> None:
        self.vocab_size = vocab_size
        self.counts = np.empty(MAX_DISTANCE_BINS, dtype=np.int32)
        # Room for the C histogram's second thread: two more sub-histograms and its ids.
        self.work = np.empty(3 * MAX_DISTANCE_BINS + MAX_CANDIDATES, dtype=np.int32)
        # Where the C head selection writes (allocated on first use: 2 MB for Gemma 3).
        self.head_ids: npt.NDArray[np.int32] | None = None
        self.head_logits: npt.NDArray[np.float32] | None = None
        self.candidates = np.empty(MAX_CANDIDATES, dtype=np.int32)
        # The previous row's span (max - min), so the next can skip its min pass.
        self.span_hint: float | None = None


@dataclass(frozen=True)
class StepDistribution:
    """The full-vocabulary distribution of one step, compact and exactly re-scorable."""

    vocab_size: int
    max_logit: float
    head_ids: npt.NDArray[np.int32]  # sorted by logit, highest first
    head_logits: npt.NDArray[np.float32]
    tail_first_bin: int  # tail_counts[i] counts tokens in bin tail_first_bin + i
    tail_counts: npt.NDArray[np.uint16] | npt.NDArray[np.int32]

    # ---- scoring -------------------------------------------------------------------
    @cached_property
    def _tail_nodes(self) -> tuple[FloatArray, FloatArray]:
        """Quadrature nodes d = max - z (in logits) and weights (token counts) over the tail.

        Inside each bin the tokens' density is taken as linear, its slope estimated from
        the neighbouring bins (the tail's density rises steeply with distance, so a
        uniform spread overestimates the mass by ~1e-3), and integrated with 3-point
        Gauss-Legendre quadrature. Computed once per step: re-scoring at another T then
        costs one exp over the nodes.
        """
        counts = self.tail_counts.astype(np.float64)
        width = 1.0 / BINS_PER_LOGIT
        half = width / 2
        bins = np.arange(self.tail_first_bin, self.tail_first_bin + counts.size)
        centres = (bins + 0.5) * width
        padded = np.concatenate(([counts[0]], counts, [counts[-1]]))
        with np.errstate(divide="ignore", invalid="ignore"):
            slope = np.where(counts > 0, (padded[2:] - padded[:-2]) / (2 * width * counts), 0.0)
        slope = np.clip(slope, -1 / half, 1 / half)
        occupied = counts > 0  # empty bins add nothing at any temperature
        distances = []
        weights = []
        for node, gl_weight in _GAUSS_LEGENDRE_3:
            u = node * half
            distances.append((centres + u)[occupied])
            weights.append((counts * (gl_weight / 2) * (1 + slope * u))[occupied])
        return np.concatenate(distances), np.concatenate(weights)

    def _tail_sums(self, temperature: float) -> tuple[float, float]:
        """(sum e^x, sum x e^x) over the tail tokens, x = (z - max) / T."""
        if self.tail_counts.size == 0:
            return 0.0, 0.0
        if _c_tail_sums is not None:
            return _c_tail_sums(self.tail_counts, self.tail_first_bin, BINS_PER_LOGIT, temperature)
        distance, weight = self._tail_nodes
        x = distance * (-1.0 / temperature)
        e = weight * np.exp(x)
        return float(e.sum()), float((e * x).sum())  # not `@`: see app/__init__

    def _sums(self, temperature: float) -> tuple[float, float]:
        """(sum e^x, sum x e^x) over the whole vocabulary, x = (z - max) / T: the softmax
        normalizer and what the entropy adds to it. Cached per temperature."""
        cached = self._sums_cache.get(temperature)
        if cached is None:
            if _c_head_sums is not None:
                head = _c_head_sums(self.head_logits, self.max_logit, temperature)
            else:
                x = self._scaled_head(temperature)
                e = np.exp(x)
                head = (float(e.sum()), float((e * x).sum()))
            tail = self._tail_sums(temperature)
            cached = (head[0] + tail[0], head[1] + tail[1])
            if len(self._sums_cache) > 64:  # a slider sweep: keep the memory bounded
                self._sums_cache.clear()
            self._sums_cache[temperature] = cached
        return cached

    @cached_property
    def _sums_cache(self) -> dict[float, tuple[float, float]]:
        return {}

    def _scaled_head(self, temperature: float) -> FloatArray:
        return (self.head_logits.astype(np.float64) - self.max_logit) / temperature

    def log_normalizer(self, temperature: float = 1.0) -> float:
        """log sum(exp((z - max) / T)) over the whole vocabulary."""
        if temperature <= 0:
            return math.log(self.n_argmax)
        return math.log(self._sums(temperature)[0])

    @property
    def n_argmax(self) -> int:
        return int(np.count_nonzero(self.head_logits == self.head_logits[0]))

    def head_probabilities(self, temperature: float = 1.0) -> FloatArray:
        """softmax(z / T) over the full vocabulary, for the head tokens (in head order).

        T = 0 is the limit: the argmax (ties shared equally) has everything.
        """
        if temperature <= 0:
            probs = np.zeros(self.head_ids.size)
            probs[: self.n_argmax] = 1.0 / self.n_argmax
            return probs
        return np.exp(self._scaled_head(temperature) - self.log_normalizer(temperature))

    def logprob(self, logit: float, temperature: float = 1.0) -> float:
        """log p of a token with this logit, at temperature T."""
        if temperature <= 0:
            return -math.log(self.n_argmax) if logit >= self.max_logit else -math.inf
        return (logit - self.max_logit) / temperature - self.log_normalizer(temperature)

    def entropy(self, temperature: float = 1.0) -> float:
        """Shannon entropy in nats of softmax(z / T) over the full vocabulary."""
        if temperature <= 0:
            return math.log(self.n_argmax)
        z_sum, weighted = self._sums(temperature)
        return math.log(z_sum) - weighted / z_sum

    def top(self, k: int, temperature: float = 1.0) -> list[TokenProb]:
        """The k most likely tokens at temperature T, most likely first."""
        k = min(k, self.head_ids.size)
        probs = self.head_probabilities(temperature)
        return [
            TokenProb(int(self.head_ids[i]), float(self.head_logits[i]), float(probs[i]))
            for i in range(k)
        ]

    def rank_of(self, logit: float) -> int:
        """0-based rank of a token with this logit (tokens with a strictly higher logit)."""
        rank = int(np.count_nonzero(self.head_logits > logit))
        if self.head_logits.size and logit < self.head_logits[-1]:
            # Below the head: add the tail tokens in higher bins (and ties inside the bin
            # cannot be resolved from the histogram, so count the bin as above).
            distance_bin = int((self.max_logit - logit) * BINS_PER_LOGIT)
            upto = max(0, distance_bin - self.tail_first_bin)
            rank += int(self.tail_counts[:upto].sum())
        return rank


def analyze_logits(
    logits: npt.NDArray[np.float32], scratch: LogitsScratch | None = None
) -> StepDistribution:
    """Summarise one logits row (a view that may be overwritten by the next decode)."""
    vocab_size = logits.shape[0]
    if scratch is None or scratch.vocab_size != vocab_size:
        scratch = LogitsScratch(vocab_size)
    max_logit = float(logits.max())
    if not math.isfinite(max_logit):
        raise ModelOutputError(
            "the model produced non-finite logits (NaN or infinity): its weights are "
            "damaged or this llama.cpp build computes it wrongly"
        )
    hint = scratch.span_hint
    span = max(hint + SPAN_HEADROOM, MIN_SPAN) if hint is not None else _span(logits, max_logit)
    counts, candidate_bin, n_candidates, used_bins = _histogram_pass(
        logits, max_logit, span, scratch
    )
    if hint is not None and used_bins == counts.size < MAX_DISTANCE_BINS and span > MIN_SPAN:
        # Tokens beyond the previous row's span were clamped: size it from the true minimum.
        span = _span(logits, max_logit)
        counts, candidate_bin, n_candidates, used_bins = _histogram_pass(
            logits, max_logit, span, scratch
        )
    scratch.span_hint = used_bins / BINS_PER_LOGIT
    head_ids, head_logits, last_head_bin = _select_head(
        logits, max_logit, counts, scratch, candidate_bin, n_candidates
    )
    return StepDistribution(
        vocab_size=vocab_size,
        max_logit=max_logit,
        head_ids=head_ids,
        head_logits=head_logits,
        tail_first_bin=last_head_bin + 1,
        tail_counts=_compact(counts[last_head_bin + 1 : max(used_bins + 1, last_head_bin + 1)]),
    )


HeadSelection = tuple[npt.NDArray[np.int32], npt.NDArray[np.float32], int]


def select_head_numpy(
    logits: npt.NDArray[np.float32],
    max_logit: float,
    counts: npt.NDArray[np.int32],
    scratch: LogitsScratch,
    candidate_bin: int,
    n_candidates: int,
) -> HeadSelection:
    """(head ids, their logits, highest first, and the last head bin): the contract of
    the C `select_head`, which replaces these dozen small numpy calls (~0.2 ms of cold
    cache misses per step) and falls back to this without a compiler."""
    last_head_bin = _last_head_bin(counts)
    threshold = _lowest_logit_in_bins(max_logit, last_head_bin, counts.size)
    if last_head_bin <= candidate_bin and n_candidates <= scratch.candidates.size:
        candidates = scratch.candidates[:n_candidates]
        head = candidates[logits[candidates] >= threshold]
    else:  # a very flat or very peaked row: one more pass
        head = np.flatnonzero(logits >= threshold).astype(np.int32)
    head_logits = logits[head]
    order = np.argsort(-head_logits, kind="stable")
    return head[order], head_logits[order], last_head_bin


def select_head_c(
    logits: npt.NDArray[np.float32],
    max_logit: float,
    counts: npt.NDArray[np.int32],
    scratch: LogitsScratch,
    candidate_bin: int,
    n_candidates: int,
) -> HeadSelection:
    if scratch.head_ids is None or scratch.head_logits is None:
        scratch.head_ids = np.empty(scratch.vocab_size, dtype=np.int32)
        scratch.head_logits = np.empty(scratch.vocab_size, dtype=np.float32)
    assert _c_select_head is not None
    n_head, last_head_bin = _c_select_head(
        logits,
        max_logit,
        BINS_PER_LOGIT,
        counts,
        scratch.candidates,
        n_candidates,
        candidate_bin,
        int(HEAD_MARGIN * BINS_PER_LOGIT),
        HEAD_MIN,
        HEAD_MAX,
        scratch.head_ids,
        scratch.head_logits,
    )
    return scratch.head_ids[:n_head].copy(), scratch.head_logits[:n_head].copy(), last_head_bin


def _select_head(
    logits: npt.NDArray[np.float32],
    max_logit: float,
    counts: npt.NDArray[np.int32],
    scratch: LogitsScratch,
    candidate_bin: int,
    n_candidates: int,
) -> HeadSelection:
    select = select_head_c if _c_select_head is not None else select_head_numpy
    return select(logits, max_logit, counts, scratch, candidate_bin, n_candidates)


def _span(logits: npt.NDArray[np.float32], max_logit: float) -> float:
    """max - min of a row whose maximum is finite (capped: -inf logits are allowed)."""
    return min(max_logit - float(logits.min()), MAX_DISTANCE_BINS / BINS_PER_LOGIT)


def _histogram_pass(
    logits: npt.NDArray[np.float32], max_logit: float, span: float, scratch: LogitsScratch
) -> tuple[npt.NDArray[np.int32], int, int, int]:
    """(counts, the last candidate bin, the number of candidates, bins in use) for a
    histogram sized to hold `span` logits."""
    n_bins = min(MAX_DISTANCE_BINS, int(span * BINS_PER_LOGIT) + 2)
    counts = scratch.counts[:n_bins]
    candidate_bin = min(int(CANDIDATE_MARGIN * BINS_PER_LOGIT) - 1, n_bins - 1)
    n_candidates, used_bins = _histogram(
        logits, max_logit, BINS_PER_LOGIT, counts, candidate_bin, scratch.candidates, scratch.work
    )
    return counts, candidate_bin, n_candidates, used_bins


def _compact(counts: npt.NDArray[np.int32]) -> npt.NDArray[np.uint16] | npt.NDArray[np.int32]:
    if counts.size == 0 or int(counts.max()) <= np.iinfo(np.uint16).max:
        return counts.astype(np.uint16)
    return counts.copy()


def numpy_histogram(
    logits: npt.NDArray[np.float32],
    max_logit: float,
    bins_per_logit: float,
    counts: npt.NDArray[np.int32],
    head_limit: int,
    head_ids: npt.NDArray[np.int32],
    work: npt.NDArray[np.int32] | None = None,
) -> tuple[int, int]:
    """The C loop's contract in numpy (about three times as slow): used where the
    extension could not be compiled, and as its reference in tests. `work` is unused."""
    last = np.float32(counts.size - 1)
    distance = (np.float32(max_logit) - logits) * np.float32(bins_per_logit)
    np.nan_to_num(distance, copy=False, nan=float(last))
    bins = np.clip(distance, np.float32(0), last).astype(np.intp)
    counts[:] = np.bincount(bins, minlength=counts.size)
    head = np.flatnonzero(bins <= head_limit)
    written = min(head.size, head_ids.size)
    head_ids[:written] = head[:written]
    nonempty = np.flatnonzero(counts)
    return int(head.size), int(nonempty[-1]) + 1 if nonempty.size else 0


TailSums = Callable[[npt.NDArray[Any], int, float, float], tuple[float, float]]
HeadSums = Callable[[npt.NDArray[np.float32], float, float], tuple[float, float]]
_c_tail_sums: TailSums | None
_c_head_sums: HeadSums | None
_c_select_head: Callable[..., tuple[int, int]] | None
try:
    from app.core.decoding._logit_histogram import head_sums as _c_head_sums
    from app.core.decoding._logit_histogram import histogram as _histogram
    from app.core.decoding._logit_histogram import select_head as _c_select_head
    from app.core.decoding._logit_histogram import tail_sums as _c_tail_sums
except ImportError:  # built without a C compiler or Python headers
    _histogram = numpy_histogram
    _c_tail_sums = None
    _c_head_sums = None
    _c_select_head = None


def _last_head_bin(counts: npt.NDArray[np.int32]) -> int:
    """The last distance bin kept exactly: HEAD_MARGIN logits, widened to HEAD_MIN tokens,
    narrowed to HEAD_MAX (whole bins, at least the top one)."""
    margin_bins = int(HEAD_MARGIN * BINS_PER_LOGIT)
    # The head nearly always ends within the margin: sum only that prefix first.
    cumulative = np.cumsum(counts[: margin_bins * 2])
    if cumulative[-1] < HEAD_MIN and cumulative.size < counts.size:
        cumulative = np.cumsum(counts)
    last = margin_bins - 1
    last = max(last, int(np.searchsorted(cumulative, HEAD_MIN)))
    last = min(last, cumulative.size - 1)
    if cumulative[last] > HEAD_MAX:
        capped = max(0, int(np.searchsorted(cumulative, HEAD_MAX, side="right")) - 1)
        last = capped if cumulative[capped] >= HEAD_MIN else capped + 1
    return last


def _lowest_logit_in_bins(max_logit: float, last_bin: int, n_bins: int) -> np.float32:
    """The smallest float32 logit z whose bin, as the C loop computes it in float32
    ((max - z) * BINS_PER_LOGIT, truncated), is <= last_bin.

    The bin is monotone in z, so {z : bin(z) <= last_bin} == {z : z >= threshold}: a
    vectorised comparison then selects exactly the tokens the histogram left out.
    """
    if last_bin >= n_bins - 1:
        return np.float32(-np.inf)  # the last bin also holds everything beyond it
    top = np.float32(max_logit)
    scale = np.float32(BINS_PER_LOGIT)
    bound = np.float32(last_bin + 1)

    def inside(z: np.float32) -> bool:
        return bool((top - z) * scale < bound)

    z = np.float32(max_logit - (last_bin + 1) / BINS_PER_LOGIT)
    down = np.float32(-np.inf)
    while not inside(z):
        z = np.nextafter(z, np.float32(np.inf))
    while inside(np.nextafter(z, down)):
        z = np.nextafter(z, down)
    return z


def full_softmax(logits: npt.NDArray[np.floating], temperature: float = 1.0) -> FloatArray:
    """Reference: softmax(z / T) over the whole row, in float64 (tests, re-checks)."""
    z = logits.astype(np.float64) / temperature
    z -= z.max()
    e = np.exp(z)
    result: FloatArray = e / e.sum()
    return result
