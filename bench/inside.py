"""Inside the model, timed on the default model: the logit lens for one step, the
attention weights of a 64-token prompt, the memory the output head takes, and whether
generating is as fast with the inspection contexts open as without.

Targets: lens ≤ 300 ms, attention ≤ 1 s, generation ratio (inspection open / closed)
≥ 0.97. Generation is measured in alternating rounds, side by side in one run.

Usage: python bench/inside.py [--rounds 5]
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import psutil

import app  # noqa: F401  (loads llama.cpp's libraries first)
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.inside.logit_lens import logit_lens
from app.core.inside.model_inspector import ModelInspector
from app.core.llama.engine import Engine
from app.workers.inspection_worker import INSPECTION_NICE

PROMPT = "The capital of France is"
LONG = (
    "Detective Jameson sat in his cramped office, surrounded by stacks of dusty files and "
    "yellowed newspapers. The rain drummed against the window as he read the letter again, "
    "slowly, looking for the detail he had missed the first time. Somewhere below, a car "
    "door slammed, and footsteps climbed the stairs, heavy and unhurried, as if whoever it "
    "was had all the time in the world."
)


def _seconds(call: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        start = time.perf_counter()
        call()  # type: ignore[operator]
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _tokens_per_second(engine: Engine, ids: list[int], tokens: int) -> float:
    settings = DecodingSettings(mode="greedy", max_tokens=tokens)
    start = time.perf_counter()
    steps = generate(engine, ids, settings).steps
    return len(steps) / (time.perf_counter() - start)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--tokens", type=int, default=32)
    args = parser.parse_args()
    process = psutil.Process()
    with Engine("default") as engine:
        ids = engine.tokenize_prompt(PROMPT)
        long_ids = engine.tokenize_prompt(LONG)[:64]
        _tokens_per_second(engine, ids, args.tokens)  # a warm-up round, not counted
        closed: list[float] = []
        before = process.memory_info().rss
        inspector = ModelInspector(engine)
        start = time.perf_counter()
        inspector.output_head()
        head_s = time.perf_counter() - start
        head_mb = (process.memory_info().rss - before) / 1e6
        logit_lens(inspector, ids)
        inspector.attention(long_ids)
        lens_s = _seconds(lambda: logit_lens(inspector, ids), args.rounds)
        attention_s = _seconds(lambda: inspector.attention(long_ids), args.rounds)
        contexts_mb = (process.memory_info().rss - before) / 1e6 - head_mb
        opened: list[float] = []
        for _ in range(args.rounds):  # alternating: the machine's noise hits both alike
            time.sleep(1.0)  # BLAS's threads spin a moment after the projection: let them rest
            opened.append(_tokens_per_second(engine, ids, args.tokens))
            inspector.free_contexts()  # the contexts gone, the output head kept
            time.sleep(1.0)
            closed.append(_tokens_per_second(engine, ids, args.tokens))
            logit_lens(inspector, ids)
            inspector.attention(long_ids)
        # The lens asked for again and again on a thread of its own (as the Workspace
        # does, at the lower priority it gives that thread) while the stream goes on.
        busy: list[float] = []
        for _ in range(args.rounds):
            stop = threading.Event()

            def looking(stop: threading.Event = stop) -> None:
                with contextlib.suppress(OSError):
                    os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), INSPECTION_NICE)
                while not stop.is_set():
                    logit_lens(inspector, ids)

            helper = threading.Thread(target=looking)
            helper.start()
            busy.append(_tokens_per_second(engine, ids, args.tokens))
            stop.set()
            helper.join()
            time.sleep(1.0)
        inspector.close()
    ratio = statistics.median(opened) / statistics.median(closed)
    print(f"output head: {head_s:.2f} s to dequantize, {head_mb:.0f} MB")
    print(f"inspection contexts: {contexts_mb:.0f} MB")
    print(f"logit lens, one step ({len(ids)} tokens): {lens_s * 1000:.0f} ms (target ≤ 300)")
    print(f"attention, {len(long_ids)}-token prompt: {attention_s * 1000:.0f} ms (target ≤ 1000)")
    print(
        f"generation with the inspection open / closed: {statistics.median(opened):.1f} / "
        f"{statistics.median(closed):.1f} tok/s, ratio {ratio:.3f} (target ≥ 0.97)"
    )
    beside = statistics.median(busy)
    print(
        f"generation while the lens runs again and again beside it: {beside:.1f} tok/s, "
        f"{beside / statistics.median(closed):.2f} of alone (two cores shared)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
