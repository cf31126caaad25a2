"""The one-pass C histogram and the head it selects agree exactly with numpy."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from app.core.decoding._logit_histogram import histogram
from app.core.decoding.logit_analysis import analyze_logits, numpy_histogram
from app.core.decoding.step_distribution import BINS_PER_LOGIT, HEAD_MAX, HEAD_MIN, full_softmax
from app.core.llama.engine import Engine


def _numpy_bins(row: np.ndarray, n_bins: int) -> np.ndarray:
    distance = (np.float32(row.max()) - row) * np.float32(BINS_PER_LOGIT)
    return np.minimum(distance, np.float32(n_bins - 1)).astype(np.int64)


def _real_row(engine: Engine, text: str) -> np.ndarray:
    engine.clear()
    engine.prefill(engine.tokenize_prompt(text))
    return engine.logits(-1).copy()


@pytest.mark.parametrize("implementation", [histogram, numpy_histogram])
@pytest.mark.parametrize("shrink", [0, 600])
def test_histogram_equals_numpy_bincount(engine: Engine, implementation: Any, shrink: int) -> None:
    """Both implementations of the one-pass summary, also with the far tail clamped."""
    row = _real_row(engine, "Once upon a time")
    n_bins = int((row.max() - row.min()) * BINS_PER_LOGIT) + 2 - shrink
    counts = np.full(n_bins, -1, dtype=np.int32)
    bins = _numpy_bins(row, n_bins)
    assert np.count_nonzero(bins <= 3000) > 40  # the buffer below is too small for them
    for limit, capacity in ((3000, 40), (3000, 100_000), (0, 8)):
        head = np.full(capacity, -1, dtype=np.int32)
        work = np.full(n_bins + 5, 7, dtype=np.int32)  # stale contents must not matter
        n_head, used = implementation(
            row, float(row.max()), BINS_PER_LOGIT, counts, limit, head, work
        )
        assert np.array_equal(counts, np.bincount(bins, minlength=n_bins))
        assert used == int(np.flatnonzero(counts)[-1]) + 1
        expected = np.flatnonzero(bins <= limit)
        assert n_head == expected.size
        written = min(capacity, expected.size)
        assert np.array_equal(head[:written], expected[:written])
        assert np.all(head[written:] == -1)


@pytest.mark.parametrize("length", [1, 15, 16, 17, 1000, 4099])
def test_vector_and_scalar_paths_agree_on_odd_values(length: int) -> None:
    """The C loop handles 16 tokens at a time and the rest one by one: NaN, -inf, values
    above the given maximum and a ragged end land in the same bins as numpy's."""
    rng = np.random.default_rng(length)
    row = rng.normal(0.0, 3.0, length).astype(np.float32)
    specials = [np.nan, -np.inf, 50.0, 0.0]
    for offset, value in zip((0, length // 2, length - 1, length // 3), specials, strict=True):
        row[offset] = value
    for n_bins, limit in ((64, 10), (5000, 1500), (1, 0)):
        ours = np.full(n_bins, -1, np.int32)
        reference = np.full(n_bins, -1, np.int32)
        ours_ids = np.full(length, -1, np.int32)
        reference_ids = np.full(length, -1, np.int32)
        work = np.empty(n_bins, np.int32)
        n_ours = histogram(row, 1.0, BINS_PER_LOGIT, ours, limit, ours_ids, work)
        n_reference = numpy_histogram(row, 1.0, BINS_PER_LOGIT, reference, limit, reference_ids)
        assert np.array_equal(ours, reference)
        assert n_ours == n_reference
        assert np.array_equal(ours_ids, reference_ids)


def test_histogram_refuses_wrong_buffers() -> None:
    row = np.zeros(10, dtype=np.float64)
    ids = np.empty(4, np.int32)
    with pytest.raises(ValueError, match="float32"):
        histogram(row, 0.0, 128.0, np.empty(4, np.int32), 0, ids, np.empty(4, np.int32))  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="non-empty"):
        histogram(row.astype(np.float32), 0.0, 128.0, np.empty(0, np.int32), 0, ids, ids)
    with pytest.raises(ValueError, match="work buffer"):
        histogram(row.astype(np.float32), 0.0, 128.0, np.empty(8, np.int32), 0, ids, ids)


@pytest.mark.parametrize("text", ["Once upon a time", "def fib(n):", "1, 2, 3, 4,"])
def test_head_and_tail_partition_the_vocabulary(engine: Engine, text: str) -> None:
    row = _real_row(engine, text)
    dist = analyze_logits(row)
    assert dist.head_ids.size >= HEAD_MIN
    assert dist.head_ids.size + int(dist.tail_counts.sum()) == row.size
    # The head is exactly the tokens above the tail's first bin, highest logit first.
    bins = _numpy_bins(row, 1 << 30)
    assert set(dist.head_ids.tolist()) == set(np.flatnonzero(bins < dist.tail_first_bin).tolist())
    assert np.all(np.diff(dist.head_logits) <= 0)
    assert np.array_equal(dist.head_logits, row[dist.head_ids])


def _check_against_softmax(row: np.ndarray) -> None:
    dist = analyze_logits(row)
    assert dist.head_ids.size + int(dist.tail_counts.sum()) == row.size
    for temperature in (0.3, 1.0, 2.0):
        probs = full_softmax(row, temperature)
        for t in dist.top(20, temperature):
            assert t.p == pytest.approx(probs[t.id], abs=1e-5)


def test_very_peaked_row_still_keeps_head_min_tokens() -> None:
    rng = np.random.default_rng(0)
    row = rng.normal(0.0, 1.0, 262_144).astype(np.float32)
    row[7] = 40.0  # one token far above everything else
    dist = analyze_logits(row)
    assert dist.head_ids[0] == 7
    assert dist.head_ids.size >= HEAD_MIN
    _check_against_softmax(row)


def test_flat_row_caps_the_head() -> None:
    rng = np.random.default_rng(1)
    row = rng.uniform(0.0, 4.0, 262_144).astype(np.float32)  # all within 8 logits
    dist = analyze_logits(row)
    assert HEAD_MIN <= dist.head_ids.size <= HEAD_MAX
    _check_against_softmax(row)


def test_all_equal_row_keeps_every_tie() -> None:
    row = np.zeros(50_000, dtype=np.float32)
    dist = analyze_logits(row)
    assert dist.head_ids.size == row.size
    assert dist.top(1)[0].p == pytest.approx(1 / row.size, rel=1e-9)


def test_minus_infinity_logits_count_as_impossible() -> None:
    row = np.full(1000, -np.inf, dtype=np.float32)
    row[:100] = np.linspace(0.0, -30.0, 100, dtype=np.float32)
    dist = analyze_logits(row)
    probs = full_softmax(row.astype(np.float64).clip(-1e30), 1.0)
    assert dist.top(1)[0].p == pytest.approx(probs[0], abs=1e-9)
    assert dist.head_ids.size + int(dist.tail_counts.sum()) == row.size


def test_reused_scratch_sizes_a_wider_row_correctly() -> None:
    """The histogram is sized from the previous row's span; a wider row must still count
    every token at its own distance (not clamped into the last bin)."""
    from app.core.decoding.logit_analysis import LogitsScratch

    rng = np.random.default_rng(2)
    narrow = rng.normal(0.0, 1.0, 100_000).astype(np.float32)
    wide = rng.normal(0.0, 6.0, 100_000).astype(np.float32)
    scratch = LogitsScratch(narrow.size)
    analyze_logits(narrow, scratch)
    reused = analyze_logits(wide, scratch)
    fresh = analyze_logits(wide)
    assert np.array_equal(reused.head_ids, fresh.head_ids)
    assert reused.tail_first_bin == fresh.tail_first_bin
    assert np.array_equal(reused.tail_counts, fresh.tail_counts)
    probs = full_softmax(wide, 2.0)
    assert reused.top(1, 2.0)[0].p == pytest.approx(probs[reused.head_ids[0]], abs=1e-6)


def test_tokens_beyond_the_histogram_share_its_last_bin() -> None:
    """A row far deeper than the previous one (here ~130 logits) is histogrammed to at
    least MIN_SPAN logits; the tokens beyond share the last bin. Every token is still
    counted once, and probabilities stay exact at the highest temperature offered."""
    from app.core.decoding.logit_analysis import MIN_SPAN, LogitsScratch

    rng = np.random.default_rng(3)
    narrow = rng.normal(0.0, 1.0, 100_000).astype(np.float32)
    deep = rng.normal(0.0, 15.0, 100_000).astype(np.float32)
    scratch = LogitsScratch(narrow.size)
    analyze_logits(narrow, scratch)
    reused = analyze_logits(deep, scratch)
    assert float(deep.max() - deep.min()) > 2 * MIN_SPAN
    assert reused.head_ids.size + int(reused.tail_counts.sum()) == deep.size
    fresh = analyze_logits(deep)  # sized from the true minimum: nothing clamped
    for temperature in (0.5, 1.0, 2.0):
        probs = full_softmax(deep, temperature)
        exact = fresh.top(5, temperature)
        for entry, reference in zip(reused.top(5, temperature), exact, strict=True):
            assert entry.p == pytest.approx(probs[entry.id], abs=1e-6)
            assert entry.p == pytest.approx(reference.p, abs=1e-9)


def test_c_tail_sums_equal_the_numpy_quadrature(engine: Engine) -> None:
    """The C tail integration (no exp per node) matches the numpy nodes it replaces."""
    from app.core.decoding._logit_histogram import tail_sums

    dist = analyze_logits(_real_row(engine, "The capital of France is"))
    distance, weight = dist._tail_nodes
    wide = dist.tail_counts.astype(np.int32)
    for temperature in (0.05, 0.3, 1.0, 2.0):
        x = distance * (-1.0 / temperature)
        e = weight * np.exp(x)
        expected = (float(e.sum()), float((e * x).sum()))
        for counts in (dist.tail_counts, wide):
            got = tail_sums(counts, dist.tail_first_bin, BINS_PER_LOGIT, temperature)
            assert got == pytest.approx(expected, rel=1e-10, abs=1e-300)
    with pytest.raises(ValueError, match="positive"):
        tail_sums(wide, 0, BINS_PER_LOGIT, 0.0)


def test_c_sums_equal_the_numpy_fallback(engine: Engine, monkeypatch: pytest.MonkeyPatch) -> None:
    """Normalizer and entropy from the C head and tail sums match the numpy path a build
    without the extension takes, and the full-vocabulary softmax."""
    from app.core.decoding import step_distribution as distribution

    row = _real_row(engine, "The capital of France is")
    temperatures = (0.05, 0.3, 1.0, 2.0)
    fast = analyze_logits(row)
    c_values = [(fast.log_normalizer(t), fast.entropy(t)) for t in temperatures]
    monkeypatch.setattr(distribution, "_c_head_sums", None)
    monkeypatch.setattr(distribution, "_c_tail_sums", None)
    slow = analyze_logits(row)
    for t, (log_z, entropy) in zip(temperatures, c_values, strict=True):
        assert log_z == pytest.approx(slow.log_normalizer(t), rel=1e-12)
        assert entropy == pytest.approx(slow.entropy(t), rel=1e-9, abs=1e-12)
        probs = full_softmax(row, t)
        nonzero = probs[probs > 0]
        assert entropy == pytest.approx(float(-(nonzero * np.log(nonzero)).sum()), abs=1e-5)


def _rows(engine: Engine) -> list[np.ndarray]:
    rng = np.random.default_rng(5)
    real = _real_row(engine, "The capital of France is")
    peaked = real.copy()
    peaked[int(np.argmax(peaked))] += 40.0
    flat = rng.normal(0.0, 0.01, real.size).astype(np.float32)
    equal = np.zeros(4096, dtype=np.float32)
    with_inf = rng.normal(0.0, 3.0, 5000).astype(np.float32)
    with_inf[::7] = -np.inf
    return [real, peaked, flat, equal, with_inf]


def test_c_head_selection_equals_numpy(engine: Engine) -> None:
    """The C head selection (bins, threshold, candidates, order) is the numpy path's."""
    from app.core.decoding import logit_analysis as d

    for row in _rows(engine):
        max_logit = float(row.max())
        scratch = d.LogitsScratch(row.size)
        for span in (float(max_logit - row[np.isfinite(row)].min()), 3.0):
            counts, candidate_bin, n_candidates, _used = d._histogram_pass(
                row, max_logit, span, scratch
            )
            ids_c, logits_c, last_c = d.select_head_c(
                row, max_logit, counts, scratch, candidate_bin, n_candidates
            )
            ids_np, logits_np, last_np = d.select_head_numpy(
                row, max_logit, counts, scratch, candidate_bin, n_candidates
            )
            assert last_c == last_np
            assert np.array_equal(ids_c, ids_np)
            assert np.array_equal(logits_c, logits_np)
