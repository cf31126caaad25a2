"""A short soak (the long one is bench/soak.py): memory stays flat over many runs."""

from __future__ import annotations

import gc
import os

import psutil

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.llama.engine import Engine

RUNS = 200 if os.environ.get("LLM_PLAYGROUND_SOAK") == "full" else 24


def _rss() -> int:
    gc.collect()
    return int(psutil.Process().memory_info().rss)


def test_memory_is_flat_over_many_generations(engine: Engine, prompt_ids: list[int]) -> None:
    kinds = [
        DecodingSettings(mode="greedy", max_tokens=64),
        DecodingSettings(mode="sample", temperature=0.9, max_tokens=64),
    ]
    for kind in kinds:  # warm-up: every buffer a run uses exists afterwards
        generate(engine, prompt_ids, kind)
    start = _rss()
    tokens = 0
    for run in range(RUNS):
        result = generate(engine, prompt_ids, kinds[run % 2].with_(seed=run))
        tokens += len(result.steps)
    growth = (_rss() - start) / start
    print(f"\nsoak: {RUNS} generations, {tokens} tokens, RSS growth {100 * growth:+.2f}%")
    assert growth <= 0.05
