"""A model on this machine vs the same model spread over two loopback RPC workers.

Starts two llama.cpp RPC workers (ggml-rpc-server from `make llama-server`) on 127.0.0.1,
loads the default model twice with weight repacking off (the kernels RPC workers use):
all layers here, then spread over here and the two workers. Greedy-decodes the same
tokens with each, alternating rounds, and prints tokens/s side by side, their ratio, and
the time per token the RPC hops add (split − local per token; loopback, so this is the
protocol's and the serialisation's cost, not a network's).

Usage: python bench/rpc_split.py [--tokens 64] [--rounds 3]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import app  # noqa: F401  (loads llama.cpp's libraries first)
from app.core import paths
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.decoding.step_records import GenerationStats
from app.core.llama.engine import Engine
from app.core.llama.engine_config import EngineConfig
from app.core.llama.rpc_workers import WorkerError, probe_worker

PROMPT = "Detective Jameson sat in his cramped office, surrounded by stacks of dusty files"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_worker(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = paths.llama_tool("ggml-rpc-server", "LLM_PLAYGROUND_RPC_SERVER")
    if binary is None:
        raise SystemExit("ggml-rpc-server is not built: run `make llama-server`")
    port = free_port()
    with (folder / f"worker-{port}.log").open("wb") as log:
        process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port), "-t", "1"],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"127.0.0.1:{port}"
    for _ in range(300):
        try:
            probe_worker(endpoint, timeout=1.0)
            return process, endpoint
        except WorkerError:
            time.sleep(0.1)
    raise SystemExit(f"the worker at {endpoint} did not start")


def tokens_per_second(engine: Engine, tokens: int) -> float:
    ids = engine.tokenize_prompt(PROMPT)
    stats = GenerationStats()
    generate(engine, ids, DecodingSettings(mode="greedy", max_tokens=tokens), stats=stats)
    return stats.tokens_per_second


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        started = [start_worker(Path(folder)) for _ in range(2)]
        try:
            workers = tuple(endpoint for _p, endpoint in started)
            local = Engine("default", EngineConfig(n_ctx=1024, repack=False))
            spread = Engine("default", EngineConfig(n_ctx=1024, repack=False, rpc_workers=workers))
            print(f"split: {spread.info.describe_device()}")
            here, there = [], []
            for _round in range(args.rounds):
                here.append(tokens_per_second(local, args.tokens))
                there.append(tokens_per_second(spread, args.tokens))
            local_speed, split_speed = statistics.median(here), statistics.median(there)
            hop_ms = (1 / split_speed - 1 / local_speed) * 1000
            print(
                f"local {local_speed:.1f} tok/s · split over 2 loopback workers "
                f"{split_speed:.1f} tok/s ({split_speed / local_speed:.2f}x) · the RPC hops "
                f"add {hop_ms:.1f} ms per token"
            )
            local.close()
            spread.close()
        finally:
            for process, _endpoint in started:
                process.terminate()
                process.wait(timeout=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
