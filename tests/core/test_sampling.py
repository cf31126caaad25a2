"""Sampling follows llama.cpp's own chain; a seed reproduces a run."""

from __future__ import annotations

import ctypes

import numpy as np
import pytest

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.llama.engine import Engine
from app.core.llama.llama_runtime import llama

SETTINGS = [
    DecodingSettings(mode="sample", temperature=0.8, top_k=40, top_p=0.95, min_p=0.05, seed=7),
    DecodingSettings(mode="sample", temperature=1.5, top_k=0, top_p=0.9, min_p=0.0, seed=3),
    DecodingSettings(mode="sample", temperature=1.0, top_k=5, top_p=1.0, min_p=0.0, seed=11),
    DecodingSettings(mode="sample", temperature=2.0, top_k=0, top_p=1.0, min_p=0.1, seed=5),
]


def _c_chain_survivors(row: np.ndarray, s: DecodingSettings) -> set[int]:
    """llama.cpp's own chain on the full vocabulary, built independently of the app."""
    lib = llama()
    chain = lib.llama_sampler_chain_init(lib.llama_sampler_chain_default_params())
    if s.top_k > 0:
        lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_k(s.top_k))
    lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_top_p(s.top_p, 1))
    lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_min_p(s.min_p, 1))
    lib.llama_sampler_chain_add(chain, lib.llama_sampler_init_temp(s.temperature))
    n = row.size
    data = (lib.llama_token_data * n)()
    for i in range(n):
        data[i].id = i
        data[i].logit = float(row[i])
        data[i].p = 0.0
    arr = lib.llama_token_data_array(
        data=ctypes.cast(data, ctypes.POINTER(lib.llama_token_data)),
        size=n,
        selected=-1,
        sorted=False,
    )
    lib.llama_sampler_apply(chain, ctypes.byref(arr))
    lib.llama_sampler_free(chain)
    return {arr.data[i].id for i in range(arr.size)}


@pytest.mark.parametrize(
    "settings", SETTINGS, ids=lambda s: f"T{s.temperature}-k{s.top_k}-p{s.top_p}-m{s.min_p}"
)
def test_sampled_token_is_a_c_chain_survivor(
    engine: Engine, prompt_ids: list[int], settings: DecodingSettings
) -> None:
    settings = settings.with_(max_tokens=6)
    result = generate(engine, prompt_ids, settings)
    engine.clear()
    engine.prefill(prompt_ids)
    row = engine.logits(-1).copy()
    for i, step in enumerate(result.steps):
        survivors = _c_chain_survivors(row, settings)
        assert step.sample is not None
        assert step.id in survivors
        assert set(step.sample.survivor_ids.tolist()) == survivors
        assert step.sample.survivor_probs.sum() == pytest.approx(1.0, abs=1e-9)
        assert 0.0 <= step.sample.uniform < 1.0
        cumulative = np.cumsum(step.sample.survivor_probs)
        assert step.sample.chosen_index == int(
            np.searchsorted(cumulative, step.sample.uniform, side="right")
        )
        assert step.temperature == 1.0  # steps report the model distribution
        if i + 1 < len(result.steps):
            engine.decode([(step.id, len(prompt_ids) + i, 0, True)])
            row = engine.logits(0).copy()


def test_seed_reproduces_and_differs(engine: Engine, prompt_ids: list[int]) -> None:
    settings = SETTINGS[0].with_(max_tokens=20, temperature=1.2)
    first = generate(engine, prompt_ids, settings)
    again = generate(engine, prompt_ids, settings)
    other = generate(engine, prompt_ids, settings.with_(seed=8))
    assert first.ids == again.ids
    assert first.text == again.text
    assert [s.sample.uniform for s in first.steps] == [s.sample.uniform for s in again.steps]  # type: ignore[union-attr]
    assert first.ids != other.ids


def test_temperature_zero_sampling_is_greedy(engine: Engine, prompt_ids: list[int]) -> None:
    greedy = generate(engine, prompt_ids, DecodingSettings(mode="greedy", max_tokens=8))
    cold = generate(
        engine, prompt_ids, DecodingSettings(mode="sample", temperature=0.0, max_tokens=8)
    )
    assert cold.ids == greedy.ids
