"""From a full logits row to a StepDistribution, fast enough to run after every decode.

`analyze_logits` takes one vectorised pass (the maximum) and one pass of a small C loop
(`_logit_histogram.c`), about 0.15 ms for 262,144 logits on a 2-core CPU (the C pass
counts the two halves of the row on two threads where llama.cpp runs on OpenMP). What
the summary keeps, and why it is exact, is in step_distribution.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from app.core.decoding.step_distribution import (
    BINS_PER_LOGIT,
    HEAD_MARGIN,
    HEAD_MAX,
    HEAD_MIN,
    StepDistribution,
)
from app.core.errors import ModelOutputError

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


_c_select_head: Callable[..., tuple[int, int]] | None
try:
    from app.core.decoding._logit_histogram import histogram as _histogram
    from app.core.decoding._logit_histogram import select_head as _c_select_head
except ImportError:  # built without a C compiler or Python headers
    _histogram = numpy_histogram
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
