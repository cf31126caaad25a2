"""Cost of the engine's per-token analysis, and of lockstep streams and beam search.

Prints ratios measured side by side in one run on the same model and tokens:
  1. engine tokens/s (full analysis per token) / bare llama-cpp-python decode loop
     (llama_decode + argmax, nothing else); target >= 0.97 on a 2-core CPU
  2. aggregate tokens/s of 2 lockstep streams / 1 stream
  3. per-step time of beam width 4 / greedy
  (2 and 3 also print what llama_decode alone costs for a batch of 2 and 4 sequences
  against 1, with no analysis: the floor the engine cannot go under on this machine)

Usage: python bench/decode_overhead.py [--model default] [--tokens 128] [--rounds 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from app.core.llama.engine import Engine  # imports llama_cpp first
from app.core.llama.engine_config import EngineConfig
from app.core.llama.llama_runtime import llama

import numpy as np  # isort: skip

from app.core.decoding.beam_search import beam_search
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate, run_streams

PROMPT = "Detective Jameson sat in his cramped office, surrounded by stacks of dusty files"


def bare_loop(engine: Engine, prompt_ids: list[int], n: int) -> tuple[float, list[int]]:
    """llama-cpp-python's low-level API only: decode one token, argmax, repeat."""
    lib = llama()
    ctx = engine.context_ptr
    engine.clear()
    engine.prefill(prompt_ids)
    vocab = engine.n_vocab
    ids: list[int] = []
    token = int(np.argmax(np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx, -1), shape=(vocab,))))
    ids.append(token)
    start = time.perf_counter()
    for _ in range(n - 1):
        arr = (lib.llama_token * 1)(token)
        batch = lib.llama_batch_get_one(arr, 1)
        if lib.llama_decode(ctx, batch) != 0:
            raise RuntimeError("decode failed")
        row = np.ctypeslib.as_array(lib.llama_get_logits_ith(ctx, -1), shape=(vocab,))
        token = int(np.argmax(row))
        ids.append(token)
    return (n - 1) / (time.perf_counter() - start), ids


def bare_batch_step(engine: Engine, prompt_ids: list[int], width: int, steps: int) -> float:
    """Seconds per llama_decode of `width` sequences, one token each (no analysis): the
    floor under lockstep streams and beams of that width on this machine."""
    engine.clear()
    engine.prefill(prompt_ids)
    for seq in range(1, width):
        engine.copy_sequence(0, seq)
    pos = len(prompt_ids)
    token = prompt_ids[-1]
    start = time.perf_counter()
    for step in range(steps):
        engine.decode([(token, pos + step, seq, True) for seq in range(width)])
    return (time.perf_counter() - start) / steps


def engine_loop(
    engine: Engine, prompt_ids: list[int], n: int, overlap: bool
) -> tuple[float, list[int]]:
    engine.overlap_analysis = overlap
    settings = DecodingSettings(mode="greedy", max_tokens=n)
    timings: list[float] = []

    def on_step(_step: object) -> None:
        timings.append(time.perf_counter())

    result = generate(engine, prompt_ids, settings, on_step=on_step)  # type: ignore[arg-type]
    return (len(timings) - 1) / (timings[-1] - timings[0]), result.ids


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    n = args.tokens
    with Engine(args.model, EngineConfig(n_ctx=2048)) as engine:
        prompt_ids = engine.tokenize_prompt(PROMPT)
        print(f"model: {engine.info.card.name} on {engine.info.describe_device()}, {n} tokens")
        bare_loop(engine, prompt_ids, 8)  # warm-up
        default_overlap = engine.overlap_analysis
        # The engine's own choice first (overlap on a GPU, not on a CPU), then the other.
        for label, overlap in (("", default_overlap), ("other mode: ", not default_overlap)):
            ratios, bare_speeds, engine_speeds = [], [], []
            for _ in range(args.rounds):
                bare, bare_ids = bare_loop(engine, prompt_ids, n)
                ours, our_ids = engine_loop(engine, prompt_ids, n, overlap)
                if bare_ids[: len(our_ids)] != our_ids:
                    raise SystemExit("the engine and the bare loop chose different tokens")
                ratios.append(ours / bare)
                bare_speeds.append(bare)
                engine_speeds.append(ours)
            mode = "overlapped with the next decode" if overlap else "before the next decode"
            print(
                f"1. {label}analysis {mode}: bare {statistics.median(bare_speeds):.1f} tok/s, "
                f"engine {statistics.median(engine_speeds):.1f} tok/s, "
                f"ratio {statistics.median(ratios):.3f} (median of {args.rounds}; target >= 0.97)"
            )
        engine.overlap_analysis = default_overlap

        greedy = DecodingSettings(mode="greedy", max_tokens=n)
        sampled = DecodingSettings(mode="sample", temperature=0.8, seed=1, max_tokens=n)
        stream_ratios = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            one = generate(engine, prompt_ids, greedy)
            t_one = time.perf_counter() - start
            start = time.perf_counter()
            two = run_streams(engine, prompt_ids, [greedy, sampled])
            t_two = time.perf_counter() - start
            stream_ratios.append(
                (sum(len(r.steps) for r in two) / t_two) / (len(one.steps) / t_one)
            )
        floors = {w: [] for w in (1, 2, 4)}
        for _ in range(args.rounds):
            for width in floors:
                floors[width].append(bare_batch_step(engine, prompt_ids, width, 48))
        one_step = statistics.median(floors[1])
        batch2 = statistics.median(floors[2]) / one_step
        batch4 = statistics.median(floors[4]) / one_step
        print(
            f"2. lockstep: 2 streams aggregate / 1 stream = {statistics.median(stream_ratios):.2f}x"
            f" (bare llama_decode: a batch of 2 costs {batch2:.2f}x one, so at most "
            f"{2 / batch2:.2f}x)"
        )

        beam_steps = min(n, 48)
        beam_ratios = []
        for _ in range(args.rounds):
            start = time.perf_counter()
            generate(engine, prompt_ids, greedy.with_(max_tokens=beam_steps))
            t_greedy = (time.perf_counter() - start) / beam_steps
            start = time.perf_counter()
            result = beam_search(
                engine,
                prompt_ids,
                DecodingSettings(mode="beam", beam_width=4, max_tokens=beam_steps),
            )
            steps = max(len(h.ids) for h in result.hypotheses)
            beam_ratios.append(((time.perf_counter() - start) / steps) / t_greedy)
        print(
            f"3. beam width 4 step / greedy step = {statistics.median(beam_ratios):.2f}x"
            f" (bare llama_decode: a batch of 4 costs {batch4:.2f}x one)"
        )


if __name__ == "__main__":
    main()
