"""The physical limit for decoding: bytes of weights read per token over memory bandwidth.

Measures read bandwidth (numpy sum over a 1 GiB array, one thread per physical core,
median of 5) and prints, for a model, the weights llama.cpp reads for one token (the
whole file less the token-embedding rows it only looks up, unless the output layer
shares them, as Gemma's does) and the fastest decoding that bandwidth allows, beside the
speed measured for a bare llama.cpp decode loop.

Usage: python bench/memory_bandwidth.py [--model default]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import app  # noqa: F401  (loads llama.cpp's libraries first)

import numpy as np  # isort: skip

from app.core.gguf.gguf_file import read_gguf
from app.core.library.default_model import resolve_model
from app.core.llama.llama_runtime import physical_cores

GIB = 1 << 30


def read_bandwidth(threads: int) -> float:
    data = np.ones(GIB // 8, dtype=np.float64)
    parts = np.array_split(data, threads)
    speeds = []
    for _ in range(5):
        workers = [threading.Thread(target=np.sum, args=(p,)) for p in parts]
        start = time.perf_counter()
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        speeds.append(data.nbytes / (time.perf_counter() - start))
    return statistics.median(speeds)


def bytes_per_token(path: str) -> tuple[int, int]:
    gguf = read_gguf(resolve_model(path))
    names = {t.name: t.n_bytes for t in gguf.tensors}
    total = sum(names.values())
    embedding = names.get("token_embd.weight", 0)
    tied = "output.weight" not in names  # the output layer reads the embedding matrix
    return total - (0 if tied else embedding), total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    cores = physical_cores()
    bandwidth = read_bandwidth(cores)
    per_token, total = bytes_per_token(args.model)
    print(f"read bandwidth, {cores} threads: {bandwidth / 1e9:.1f} GB/s")
    print(f"weights: {total / 1e6:.1f} MB in the file, {per_token / 1e6:.1f} MB read per token")
    print(f"limit: {bandwidth / per_token:.0f} tokens/s")


if __name__ == "__main__":
    main()
