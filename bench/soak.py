"""Soak: generate continuously and watch memory and speed.

Runs greedy and sampled generations back to back on the engine (the app's decode path,
with full per-token analysis) for `--minutes` (default 30) or `--tokens`, and prints the
process RSS at the start (after a warm-up) and at the end (target: growth <= 5%), and
tokens/s in the first and the last tenth of the run (throughput drift).

Usage: python bench/soak.py [--minutes 30 | --tokens 20000] [--model default]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time

import app  # noqa: F401  (loads llama.cpp's libraries first)
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.decoding.step_records import GenerationStats
from app.core.llama.engine import Engine

PROMPTS = [
    "Detective Jameson sat in his cramped office, surrounded by stacks of dusty files",
    "The recipe for a good loaf of bread begins with",
    "In the year 2150, the first colony on Mars",
    "def fibonacci(n):",
]


def rss() -> int:
    import psutil

    gc.collect()
    return int(psutil.Process().memory_info().rss)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="default")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--tokens", type=int, default=0, help="stop after this many instead")
    parser.add_argument("--run-tokens", type=int, default=256, help="tokens per generation")
    args = parser.parse_args()
    with Engine(args.model) as engine:
        settings = [
            DecodingSettings(mode="greedy", max_tokens=args.run_tokens),
            DecodingSettings(mode="sample", temperature=0.9, seed=1, max_tokens=args.run_tokens),
        ]
        prompts = [engine.tokenize_prompt(p) for p in PROMPTS]
        # Warm-up: one full run of each kind, so every buffer a run uses exists.
        for index, ids in enumerate(prompts):
            generate(engine, ids, settings[index % 2])
        start_rss = rss()
        start = time.monotonic()
        speeds: list[tuple[float, float]] = []  # (seconds since start, tokens/s)
        samples: list[int] = []  # RSS after every 10th generation
        total = runs = 0
        deadline = start + args.minutes * 60
        while (total < args.tokens) if args.tokens else (time.monotonic() < deadline):
            stats = GenerationStats()
            setting = settings[runs % 2].with_(seed=runs)
            result = generate(engine, prompts[runs % len(prompts)], setting, stats=stats)
            total += len(result.steps)
            runs += 1
            speeds.append((time.monotonic() - start, stats.tokens_per_second))
            if runs % 10 == 0:
                samples.append(rss())
        elapsed = time.monotonic() - start
        end_rss = rss()
    tenth = max(1, len(speeds) // 10)
    first = statistics.median(s for _, s in speeds[:tenth])
    last = statistics.median(s for _, s in speeds[-tenth:])
    growth = (end_rss - start_rss) / start_rss
    print(f"soak: {total} tokens in {runs} generations, {elapsed / 60:.1f} min")
    print(
        f"  RSS {start_rss / 1e6:.1f} MB -> {end_rss / 1e6:.1f} MB, "
        f"growth {100 * growth:+.2f}% (target <= 5%)"
    )
    shown = samples[:: max(1, len(samples) // 8)]
    print("  RSS every 10 generations (MB): " + ", ".join(f"{v / 1e6:.0f}" for v in shown))
    print(
        f"  tokens/s first tenth {first:.1f}, last tenth {last:.1f}, "
        f"drift {100 * (last / first - 1):+.1f}%"
    )


if __name__ == "__main__":
    main()
