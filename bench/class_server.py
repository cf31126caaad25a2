"""A class on one server: 1, 4 and 8 simulated students against one `serve --parallel 8`.

Each student streams 64 tokens with 20 alternatives per token (what the views ask for),
greedy, each on a prompt of its own. Prints, per class size: aggregate tokens/s and its
ratio to one student; each student's speed against the mean (target: within 25 %); p95
of the time between two tokens a student receives, against one student; every request
completed; and the client's own CPU per token (reading, parsing, checking the answer)
against the server's reported time per token (target <= 5 %).

Usage: python bench/class_server.py [--tokens 64] [--alternatives 20] [--sizes 1,4,8]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import threading
import time

import app  # noqa: F401  (loads llama.cpp's libraries first)
from app.core.backends.server_client import ServerClient
from app.core.backends.server_process import ServeOptions, ServerProcess
from app.core.library.default_model import default_model_path

PROMPTS = [
    "Detective Jameson sat in his cramped office, surrounded by stacks of dusty files",
    "The capital of France is",
    "Once upon a time, in a small village by the sea,",
    "Byte pair encoding is an algorithm that",
    "The most important thing about learning to program is",
    "In 1994, researchers first described",
    "The recipe calls for two cups of flour and",
    "A language model predicts the next token by",
]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Student:
    def __init__(self, url: str, prompt: list[int], tokens: int, alternatives: int) -> None:
        self.client = ServerClient(url, timeout=300)
        self.prompt = prompt
        self.tokens = tokens
        self.alternatives = alternatives
        self.arrivals: list[float] = []
        self.cpu = 0.0
        self.server_ms_per_token = 0.0
        self.received = 0
        self.error = ""

    def run(self) -> None:
        cpu = time.thread_time()
        try:
            answer = self.client.complete(
                self.prompt,
                n_predict=self.tokens,
                n_probs=self.alternatives,
                on_token=lambda _t: self.arrivals.append(time.perf_counter()),
            )
            self.received = len(answer.tokens)
            self.server_ms_per_token = answer.timings.get("predicted_per_token_ms", 0.0)
        except Exception as exc:
            self.error = str(exc)
        self.cpu = time.thread_time() - cpu

    @property
    def speed(self) -> float:
        span = self.arrivals[-1] - self.arrivals[0] if len(self.arrivals) > 1 else 0.0
        return (len(self.arrivals) - 1) / span if span > 0 else 0.0

    @property
    def gaps(self) -> list[float]:
        return [b - a for a, b in zip(self.arrivals, self.arrivals[1:], strict=False)]


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] if ordered else 0.0


def run_class(
    url: str, prompts: list[list[int]], size: int, tokens: int, alternatives: int
) -> tuple[list[Student], float]:
    students = [Student(url, prompts[i % len(prompts)], tokens, alternatives) for i in range(size)]
    threads = [threading.Thread(target=s.run) for s in students]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return students, time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--alternatives", type=int, default=20)
    parser.add_argument("--sizes", default="1,4,8")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    options = ServeOptions(default_model_path(), port=free_port(), parallel=max(sizes), n_ctx=512)
    with ServerProcess(options) as server:
        server.wait_ready()
        client = ServerClient(server.url)
        prompts = [[i for i, _p in client.tokenize(text)] for text in PROMPTS]
        run_class(server.url, prompts, 1, 8, args.alternatives)  # warm-up
        print(
            f"model: {options.model.name} · llama-server, {options.parallel} slots · "
            f"{args.tokens} tokens x {args.alternatives} alternatives per student"
        )
        baseline_speed = baseline_gap = 0.0
        for size in sizes:
            students, wall = run_class(server.url, prompts, size, args.tokens, args.alternatives)
            done = sum(s.received == args.tokens and not s.error for s in students)
            aggregate = sum(s.received for s in students) / wall
            speeds = [s.speed for s in students]
            mean = statistics.fmean(speeds)
            spread = max(abs(v - mean) / mean for v in speeds) if mean > 0 else 0.0
            gap = p95([g for s in students for g in s.gaps])
            client_ms = statistics.fmean(s.cpu * 1000 / max(s.received, 1) for s in students)
            server_ms = statistics.fmean(s.server_ms_per_token for s in students)
            if size == sizes[0]:
                baseline_speed, baseline_gap = aggregate, gap
            errors = "; ".join(sorted({s.error for s in students if s.error}))
            print(
                f"{size} student(s): {done}/{size} completed · aggregate {aggregate:.1f} tok/s "
                f"({aggregate / baseline_speed:.2f}x one) · each within "
                f"{spread:.0%} of the mean {mean:.1f} tok/s (target <= 25%) · p95 between "
                f"tokens {gap * 1000:.0f} ms ({gap / baseline_gap:.2f}x one) · client "
                f"{client_ms:.2f} ms/token = {client_ms / server_ms:.1%} of the server's "
                f"{server_ms:.1f} ms/token (target <= 5%)"
                + (f" · errors: {errors}" if errors else "")
            )


if __name__ == "__main__":
    main()
