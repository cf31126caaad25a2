"""A next-token distribution known only by its top N tokens, as a server reports it.

A server (llama-server's `n_probs`, OpenAI's `top_logprobs`) sends, for each step, the
log-probabilities at T = 1 of its N most likely tokens (and of the chosen token). What
that fixes exactly:

* at T = 1, every sent token's probability, and the mass of all the others together,
  R = 1 - sum(top N);
* at any T, the *ratios* between sent tokens: p_i(T) is proportional to p_i ** (1/T).

What it does not fix is how R is spread over the other V - N tokens, and at T != 1 that
changes the normalizer sum_j p_j ** (1/T). Each unsent token has p <= q (the smallest
sent probability of the top N) and together they hold R, so the tail's share lies
between two extremes (the sum of a convex or concave power over a simplex is extreme at
its corners): R spread evenly over all V - N tokens, and R packed into as few tokens as
possible at q each. `normalizer_bounds` gives both; every probability shown at T != 1
is bounded by them.

The point estimate extends the sent tokens with a Zipf-like tail p(r) = q (r / N) ** -s
for ranks N < r <= V, its exponent s solved so that the tail holds exactly R: the
estimate is exact at T = 1, lies inside the bounds, and follows the long tail that
language models' distributions have. Sums over the tail ranks use the integral of r ** -b
over [N + 1/2, V + 1/2] (closed form), so re-scoring a step costs no loop over V.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import numpy.typing as npt

from app.core.decoding.step_distribution import SoftmaxScoring

FloatArray = npt.NDArray[np.float64]
_SMALL_EXPONENT = 1e-5  # |1 - b| below this: the integrals' b = 1 forms


def _log_integrals(b: float, low: float, high: float) -> tuple[float, float]:
    """(log G, K / G) with G = integral of x ** -b and K = integral of x ** -b * ln x over
    [low, high], computed in t = ln x so that neither overflows for any b >= 0."""
    lo, hi = math.log(low), math.log(high)
    c = 1.0 - b
    if abs(c) < _SMALL_EXPONENT:
        return math.log(hi - lo), (hi + lo) / 2
    # Factor out e^(c m) at the end where the integrand is largest.
    m = hi if c > 0 else lo
    width = hi - lo
    shrink = -math.expm1(-abs(c) * width)  # 1 - e^(-|c| width)
    log_g = c * m + math.log(shrink / abs(c))
    # K = [e^(ct) (t/c - 1/c^2)] from lo to hi; divided by e^(c m) each term is bounded.
    far = lo if c > 0 else hi
    k_scaled = (m / c - 1 / c**2) - math.exp(c * (far - m)) * (far / c - 1 / c**2)
    if c < 0:
        k_scaled = -k_scaled
    g_scaled = shrink / abs(c)
    return log_g, k_scaled / g_scaled


@dataclass(frozen=True)
class TopNDistribution(SoftmaxScoring):
    """The sent tokens exactly (log p at T = 1, most likely first) and an estimated,
    bounded rest. Answers the same questions as StepDistribution."""

    vocab_size: int
    head_ids: npt.NDArray[np.int32]  # sorted by log p, highest first
    head_logits: FloatArray  # log p at T = 1 (a logit up to a constant, which softmax drops)
    top_n: int  # how many of the head are the server's top N (the rest: the chosen token)

    @property
    def max_logit(self) -> float:
        return float(self.head_logits[0])

    # ---- the tail ------------------------------------------------------------------
    @cached_property
    def _tail(self) -> tuple[int, float, float, float]:
        """(tokens outside the head M, their mass R, the cap q, Zipf exponent s)."""
        others = max(self.vocab_size - self.head_ids.size, 0)
        mass = max(0.0, 1.0 - math.fsum(np.exp(self.head_logits).tolist()))
        top = self.head_logits[: max(self.top_n, 1)]
        cap = float(np.exp(top[-1]))
        if others == 0 or mass <= 0.0 or cap <= 0.0:
            return 0, 0.0, cap, 0.0
        return others, mass, cap, self._solve_exponent(others, mass, cap)

    def _rank_range(self, others: int) -> tuple[float, float]:
        n = max(self.top_n, 1)
        return n + 0.5, n + others + 0.5

    def _solve_exponent(self, others: int, mass: float, cap: float) -> float:
        """s such that the tail q (r/N)^-s over the other tokens holds `mass` (at T = 1)."""
        n = max(self.top_n, 1)
        low, high = self._rank_range(others)

        def log_mass(s: float) -> float:
            return math.log(cap) + s * math.log(n) + _log_integrals(s, low, high)[0]

        target = math.log(mass)
        if log_mass(0.0) <= target:
            return 0.0  # even an even spread at the cap is not enough: the flattest tail
        lo, hi = 0.0, 1.0
        while log_mass(hi) > target and hi < 1e6:
            lo, hi = hi, hi * 2
        for _ in range(80):
            mid = (lo + hi) / 2
            if log_mass(mid) > target:
                lo = mid
            else:
                hi = mid
        return (lo + hi) / 2

    def _tail_estimate(self, temperature: float) -> tuple[float, float]:
        """(log of sum over the tail of p ** a, mean of ln(p ** a) weighted by p ** a)."""
        others, _mass, cap, s = self._tail
        if others == 0:
            return -math.inf, 0.0
        a = 1.0 / temperature
        b = s * a
        log_g, k_over_g = _log_integrals(b, *self._rank_range(others))
        log_a = a * math.log(cap) + b * math.log(max(self.top_n, 1))
        return log_a + log_g, log_a - b * k_over_g

    def _tail_extremes(self, temperature: float) -> tuple[float, float]:
        """(least, most) log of sum over the tail of p ** a, over every way of spreading
        R over the other tokens with none above the cap."""
        others, mass, cap, _s = self._tail
        if others == 0:
            return -math.inf, -math.inf
        a = 1.0 / temperature
        even = math.log(others) + a * (math.log(mass) - math.log(others))
        full = min(math.floor(mass / cap), others)
        rest = mass - full * cap
        parts = [math.log(full) + a * math.log(cap)] if full else []
        if rest > 0:
            parts.append(a * math.log(rest))
        packed = float(np.logaddexp.reduce(parts)) if parts else -math.inf
        return (even, packed) if a >= 1 else (packed, even)

    # ---- scoring (the rest is SoftmaxScoring's) ----------------------------------
    def _compute_sums(self, temperature: float) -> tuple[float, float]:
        """The head exactly (a log p of -inf adds nothing), the tail estimated."""
        x = self._scaled_head(temperature)
        e = np.exp(x)
        head = float(e.sum()), float(np.where(e > 0, x * e, 0.0).sum())
        log_tail, mean_log = self._tail_estimate(temperature)
        shift = self.max_logit / temperature
        tail = math.exp(log_tail - shift) if log_tail > -math.inf else 0.0
        return head[0] + tail, head[1] + tail * (mean_log - shift)

    def normalizer_bounds(self, temperature: float) -> tuple[float, float]:
        """(least, most) the log normalizer can be, whatever the unsent tokens are."""
        if temperature <= 0:
            value = math.log(self.n_argmax)
            return value, value
        head = float(np.exp(self._scaled_head(temperature)).sum())
        shift = self.max_logit / temperature
        least, most = (
            math.log(head + (math.exp(t - shift) if t > -math.inf else 0.0))
            for t in self._tail_extremes(temperature)
        )
        return least, most

    def probability_bounds(self, logit: float, temperature: float) -> tuple[float, float]:
        """(least, most) p of a token with this log p at T = 1, at temperature T."""
        if temperature <= 0:
            p = math.exp(self.logprob(logit, temperature))
            return p, p
        least_z, most_z = self.normalizer_bounds(temperature)
        x = (logit - self.max_logit) / temperature
        return math.exp(x - most_z), math.exp(x - least_z)

    def rank_of(self, logit: float) -> int:
        """0-based rank among the sent tokens; below the top N, at least N (the unsent
        tokens may rank above it)."""
        above = int(np.count_nonzero(self.head_logits > logit))
        if self.rank_unknown(logit):
            return max(above, self.top_n)
        return above

    def rank_unknown(self, logit: float) -> bool:
        """Whether a token with this log p falls below the sent top N (its rank is then
        only known to be beyond N)."""
        return self.top_n < self.vocab_size and logit < float(self.head_logits[: self.top_n].min())


def from_top_logprobs(
    vocab_size: int, top: list[tuple[int, float]], chosen: tuple[int, float] | None = None
) -> TopNDistribution:
    """A step's distribution from the server's top N (id, log p) and the chosen token's,
    when it was not among them."""
    entries = dict(top)
    n = len(entries)
    if chosen is not None and chosen[0] not in entries:
        entries[chosen[0]] = chosen[1]
    order = sorted(entries.items(), key=lambda item: -item[1])
    return TopNDistribution(
        vocab_size=vocab_size,
        head_ids=np.array([i for i, _lp in order], dtype=np.int32),
        head_logits=np.array([lp for _i, lp in order], dtype=np.float64),
        top_n=n,
    )
