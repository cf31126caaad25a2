"""Greedy decoding matches llama-cpp-python; reported numbers match a full softmax."""

from __future__ import annotations

import numpy as np
import pytest

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.decoding.logit_analysis import analyze_logits
from app.core.decoding.step_distribution import full_softmax
from app.core.llama.engine import Engine

TEMPERATURES = [0.05, 0.1, 0.25, 0.5, 0.8, 1.0, 1.3, 1.7, 2.0]


def test_greedy_equals_llama_cpp_python(engine: Engine, prompt_ids: list[int]) -> None:
    from llama_cpp import Llama

    ours = generate(engine, prompt_ids, DecodingSettings(mode="greedy", max_tokens=24))
    reference = Llama(
        str(engine.path),
        n_ctx=512,
        n_threads=engine.info.n_threads,
        n_gpu_layers=engine.info.n_gpu_layers,  # the same backend decodes both
        flash_attn=True,
        verbose=False,
    )
    try:
        theirs = []
        for token in reference.generate(prompt_ids, top_k=1, temp=0.0, reset=True):
            if reference.token_eos() == token or len(theirs) == 24:
                break
            theirs.append(token)
    finally:
        reference.close()
    assert ours.ids[: len(theirs)] == theirs
    assert len(theirs) == 24


def _logit_rows(engine: Engine, prompt_ids: list[int], ids: list[int]) -> list[np.ndarray]:
    """Copies of the logits before each generated token, decoded one token at a time."""
    engine.clear()
    engine.prefill(prompt_ids)
    rows = [engine.logits(-1).copy()]
    for i, token in enumerate(ids[:-1]):
        engine.decode([(token, len(prompt_ids) + i, 0, True)])
        rows.append(engine.logits(0).copy())
    return rows


def test_probabilities_equal_full_softmax(engine: Engine, prompt_ids: list[int]) -> None:
    result = generate(engine, prompt_ids, DecodingSettings(mode="greedy", max_tokens=12))
    rows = _logit_rows(engine, prompt_ids, result.ids)
    for step, row in zip(result.steps, rows, strict=True):
        probs = full_softmax(row)
        assert step.id == int(np.argmax(row))
        assert step.p == pytest.approx(probs[step.id], abs=1e-5)
        assert step.logprob == pytest.approx(np.log(probs[step.id]), abs=1e-5)
        assert step.rank == 0
        entropy = -float(np.sum(probs[probs > 0] * np.log(probs[probs > 0])))
        assert step.entropy == pytest.approx(entropy, abs=1e-4)
        top = step.top(10)
        expected_ids = np.argsort(-row, kind="stable")[:10]
        assert [t.id for t in top] == list(expected_ids)
        for t in top:
            assert t.p == pytest.approx(probs[t.id], abs=1e-5)


def test_rescoring_at_other_temperatures_is_exact(engine: Engine, prompt_ids: list[int]) -> None:
    prompts = [
        prompt_ids,
        engine.tokenize_prompt("def fibonacci(n):\n    "),
        engine.tokenize_prompt("1, 2, 3,"),
    ]
    for ids in prompts:
        result = generate(engine, ids, DecodingSettings(mode="greedy", max_tokens=6))
        rows = _logit_rows(engine, ids, result.ids)
        for step, row in zip(result.steps, rows, strict=True):
            for temperature in TEMPERATURES:
                probs = full_softmax(row, temperature)
                seen = step.rescored(temperature)
                assert seen.p == pytest.approx(probs[step.id], abs=1e-5)
                for t in seen.top(50):
                    assert t.p == pytest.approx(probs[t.id], abs=1e-5), (temperature, t)
                mask = probs > 0
                entropy = -float(np.sum(probs[mask] * np.log(probs[mask])))
                assert seen.entropy == pytest.approx(entropy, abs=1e-4)


def test_distribution_summary_is_small(engine: Engine, prompt_ids: list[int]) -> None:
    engine.clear()
    engine.prefill(prompt_ids)
    dist = analyze_logits(engine.logits(-1))
    assert 64 <= dist.head_ids.size <= 4096
    assert dist.head_ids.size + int(dist.tail_counts.sum()) == engine.n_vocab
    assert dist.tail_counts.nbytes < 64 * 1024


def test_temperature_zero_is_one_hot(engine: Engine, prompt_ids: list[int]) -> None:
    result = generate(engine, prompt_ids, DecodingSettings(mode="greedy", max_tokens=1))
    step = result.steps[0].rescored(0.0)
    assert step.p == 1.0
    assert step.top(2)[1].p == 0.0
