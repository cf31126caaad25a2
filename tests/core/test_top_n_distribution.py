"""A server's top N: exact where the top N fixes the numbers, bounded where it does not.

Checked against the whole-vocabulary softmax of real Gemma 3 logits: at T = 1 every sent
probability and the rest's mass are exact; at other temperatures the true probability
always lies between the bounds the chart draws, and the estimate lies between them too.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_distribution import full_softmax
from app.core.decoding.step_records import TokenStep
from app.core.decoding.top_n_distribution import from_top_logprobs
from app.core.llama.engine import Engine
from app.core.runs.run_record import RunRecord
from app.core.runs.session_file import (
    SessionFileError,
    SessionView,
    load_session,
    save_session,
)

PROMPTS = ["The capital of France is", "Once upon a time", "def fib(n):", "1, 2, 3,"]


def _logits(engine: Engine, prompt: str) -> np.ndarray:
    engine.clear()
    engine.prefill(engine.tokenize_prompt(prompt), seq=0)
    return np.array(engine.logits(-1), dtype=np.float64)


@pytest.mark.parametrize("prompt", PROMPTS)
def test_top_20_is_exact_at_t1_and_bounded_elsewhere(engine: Engine, prompt: str) -> None:
    row = _logits(engine, prompt)
    exact_1 = full_softmax(row, 1.0)
    order = np.argsort(-exact_1)[:20]
    dist = from_top_logprobs(row.size, [(int(i), math.log(exact_1[i])) for i in order])

    assert dist.head_probabilities(1.0) == pytest.approx(exact_1[order], rel=1e-9)
    assert dist.normalizer_bounds(1.0)[0] == pytest.approx(dist.normalizer_bounds(1.0)[1])
    for t in (0.3, 0.7, 1.5, 2.0):
        exact = full_softmax(row, t)[order]
        estimate = dist.head_probabilities(t)
        for i in range(20):
            low, high = dist.probability_bounds(float(dist.head_logits[i]), t)
            assert low * (1 - 1e-9) <= exact[i] <= high * (1 + 1e-9), (t, i)
            assert low * (1 - 1e-9) <= estimate[i] <= high * (1 + 1e-9), (t, i)
        # Ratios inside the top N are exact at any temperature.
        assert estimate[1] / estimate[0] == pytest.approx(exact[1] / exact[0], rel=1e-9)


def test_a_chosen_token_below_the_top_n_has_a_rank_known_only_as_beyond(engine: Engine) -> None:
    row = _logits(engine, PROMPTS[0])
    p = full_softmax(row, 1.0)
    order = np.argsort(-p)
    top = [(int(i), math.log(p[i])) for i in order[:5]]
    chosen = (int(order[40]), math.log(p[order[40]]))
    dist = from_top_logprobs(row.size, top, chosen)
    assert dist.head_ids.size == 6 and dist.top_n == 5
    assert dist.rank_unknown(chosen[1]) and dist.rank_of(chosen[1]) >= 5
    assert not dist.rank_unknown(top[2][1]) and dist.rank_of(top[2][1]) == 2
    assert math.exp(dist.logprob(chosen[1], 1.0)) == pytest.approx(p[order[40]], rel=1e-9)


def test_greedy_limit_and_a_top_n_that_holds_everything() -> None:
    dist = from_top_logprobs(3, [(0, math.log(0.5)), (1, math.log(0.3)), (2, math.log(0.2))])
    assert dist.head_probabilities(0.0).tolist() == [1.0, 0.0, 0.0]
    # Nothing is unknown: every temperature is exact.
    expected = np.array([0.5, 0.3, 0.2]) ** 2
    assert dist.head_probabilities(0.5) == pytest.approx(expected / expected.sum())
    low, high = dist.probability_bounds(math.log(0.5), 0.5)
    assert low == pytest.approx(high)


def test_a_remote_run_survives_a_session_file(tmp_path: Path) -> None:
    dist = from_top_logprobs(
        262144, [(9259, math.log(0.4)), (506, math.log(0.2))], (77, math.log(0.01))
    )
    step = TokenStep(0, 77, b" x", math.log(0.01), 1.0, dist, chosen_by="sample")
    record = RunRecord(prompt="Hi", settings=DecodingSettings(mode="sample"), steps=[step])
    path = tmp_path / "run.json"
    save_session(path, record, "llama-server at 127.0.0.1:8080", "", SessionView())
    loaded = load_session(path).record.steps[0]
    assert loaded.distribution.head_ids.tolist() == [9259, 506, 77]
    assert loaded.p_at(0.7) == pytest.approx(step.p_at(0.7), rel=1e-12)

    text = path.read_text().replace('"top_n": 2', '"top_n": 9')
    path.write_text(text)
    with pytest.raises(SessionFileError, match="top tokens are inconsistent"):
        load_session(path)
