"""A sampled run's draws depend only on the seed and the step: continuing, stepping and
branching draw what one uninterrupted run draws."""

from __future__ import annotations

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.decoding.sampler_chain import uniform_at
from app.core.llama.engine import Engine

SETTINGS = DecodingSettings(mode="sample", temperature=1.0, top_k=0, top_p=1.0, min_p=0.0, seed=0)


def _uniforms(steps: list) -> list[float]:  # type: ignore[type-arg]
    return [s.sample.uniform for s in steps]


def test_generate_16_equals_8_plus_8_equals_16_single_steps(
    engine: Engine, prompt_ids: list[int]
) -> None:
    whole = generate(engine, prompt_ids, SETTINGS.with_(max_tokens=16)).steps
    assert [s.index for s in whole] == list(range(16))
    assert _uniforms(whole) == [uniform_at(0, k) for k in range(16)]
    assert len(set(_uniforms(whole))) == 16  # no draw repeats

    first = generate(engine, prompt_ids, SETTINGS.with_(max_tokens=8)).steps
    ids = [s.id for s in first]
    rest = generate(engine, prompt_ids + ids, SETTINGS.with_(max_tokens=8), first_index=8).steps
    halves = first + rest
    assert [s.index for s in halves] == list(range(16))
    assert _uniforms(halves) == _uniforms(whole)
    assert [s.id for s in halves] == [s.id for s in whole]

    # A reopened session: nothing cached, the text so far decoded again the way the run
    # decoded it (the prompt in one batch, then token by token), so the tokens match too.
    engine.clear()
    reopened = generate(engine, prompt_ids + ids, SETTINGS.with_(max_tokens=8), first_index=8).steps
    assert _uniforms(reopened) == _uniforms(whole[8:])
    assert [s.id for s in reopened] == [s.id for s in whole[8:]]
    assert [s.distribution.max_logit for s in reopened] == [
        s.distribution.max_logit for s in whole[8:]
    ]

    single: list = []  # type: ignore[type-arg]
    for k in range(16):
        taken = [s.id for s in single]
        (step,) = generate(
            engine, prompt_ids + taken, SETTINGS.with_(max_tokens=1), first_index=k
        ).steps
        single.append(step)
    assert _uniforms(single) == _uniforms(whole)
    assert [s.id for s in single] == [s.id for s in whole]


def test_a_branch_continues_with_the_original_draws(engine: Engine, prompt_ids: list[int]) -> None:
    original = generate(engine, prompt_ids, SETTINGS.with_(max_tokens=12)).steps
    ids = [s.id for s in original]
    # Force another token at step 5, then continue from step 6.
    forced = next(t.id for t in original[5].top(5) if t.id != ids[5])
    branch = generate(
        engine, prompt_ids + ids[:5] + [forced], SETTINGS.with_(max_tokens=6), first_index=6
    ).steps
    assert [s.index for s in branch] == list(range(6, 12))
    assert _uniforms(branch) == _uniforms(original[6:])


def test_draws_differ_by_seed_and_step() -> None:
    assert uniform_at(0, 0) != uniform_at(0, 1)
    assert uniform_at(0, 3) != uniform_at(1, 3)
    assert uniform_at(7, 5) == uniform_at(7, 5)


def test_only_what_the_cache_lacks_is_decoded_again(engine: Engine, prompt_ids: list[int]) -> None:
    import threading

    steps = generate(engine, prompt_ids, SETTINGS.with_(max_tokens=20)).steps
    ids = prompt_ids + [s.id for s in steps]
    n_prompt = len(prompt_ids)
    # The last chosen token was never decoded: continuing decodes just that one.
    assert engine.redecode_count(ids, n_prompt) == 1
    # A branch at step 5 keeps the first five tokens' cache.
    assert engine.redecode_count([*ids[: n_prompt + 5], ids[0]], n_prompt) == 1
    engine.clear()
    assert engine.redecode_count(ids, n_prompt) == 20
    stop = threading.Event()
    stop.set()
    result = generate(engine, ids, SETTINGS.with_(max_tokens=4), first_index=20, cancel=stop)
    assert result.stop_reason == "cancelled" and result.steps == []


def test_a_beam_made_text_is_decoded_like_a_prompt(engine: Engine, prompt_ids: list[int]) -> None:
    from dataclasses import replace

    from app.core.decoding.beam_search import beam_search
    from app.core.decoding.step_records import TokenStep

    beam = beam_search(engine, prompt_ids, SETTINGS.with_(mode="beam", beam_width=2, max_tokens=6))
    steps = beam.best.steps
    assert all(s.chosen_by == "beam" for s in steps)
    assert TokenStep.batched_prefix(steps) == len(steps)
    mixed = [*steps[:3], replace(steps[3], forced=True), *steps[4:]]
    assert TokenStep.batched_prefix(mixed) == len(steps)
    assert TokenStep.batched_prefix([replace(s, chosen_by="greedy") for s in steps]) == 0
    # Continuing it decodes the beam's tokens in a batch, not one by one.
    ids = prompt_ids + [s.id for s in steps]
    assert engine.redecode_count(ids, len(ids)) == 0
    more = generate(engine, ids, SETTINGS.with_(max_tokens=2), first_index=6, batched=6).steps
    assert [s.index for s in more] == [6, 7] and all(s.chosen_by == "sample" for s in more)
