"""The OpenAI-compatible client against a real vLLM on a GPU machine, and the class figure.

Starts `vllm serve`'s OpenAI server (python -m vllm.entrypoints.openai.api_server) on
127.0.0.1 with a small model and --max-logprobs 20, then checks what the playground
relies on, each printed PASS or FAIL:

* /v1/models lists the model;
* a greedy /v1/completions with 20 log-probabilities per token: ids come back (vLLM's
  "token_id:<id>" with return_tokens_as_token_ids), at most 20 alternatives each, every
  log-probability a number <= 0, the chosen token the most likely one, the sent mass <= 1;
* asking the client for 21 is capped at the server's 20 (no error); asking vLLM itself for
  21 is refused with a message, not a crash;
* sampling with a seed repeats;
* a class: 1 and 8 concurrent clients (64 tokens, 20 alternatives each): aggregate
  tokens/s and its ratio (target >= 4x with 8 clients on a GPU).

vLLM is not a dependency of the app (it needs CUDA and several GB); run this where it is
installed and the model is on disk (the GPU machines here have no network):

    python bench/gpu/vllm_conformance.py --model /models/SmolLM2-135M [--port 8011]
"""

from __future__ import annotations

import argparse
import math
import os
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from app.core.backends.openai_client import MAX_LOGPROBS, OpenAIClient
from app.core.backends.server_answers import ServerError

PROMPT = "The capital of France is"
FAILURES: list[str] = []


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"{'PASS' if ok else 'FAIL'}  {name}{f' ({detail})' if detail else ''}", flush=True)
    if not ok:
        FAILURES.append(name)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_vllm(model: str, port: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable,
        "-m",
        "vllm.entrypoints.openai.api_server",
        "--model",
        model,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--max-logprobs",
        str(MAX_LOGPROBS),
        "--gpu-memory-utilization",
        "0.5",
    ]
    print("starting:", " ".join(command), flush=True)
    return subprocess.Popen(command, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def wait_ready(client: OpenAIClient, process: subprocess.Popen[bytes], limit: float) -> list[str]:
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"vLLM ended at start with status {process.returncode}")
        try:
            return client.models()
        except ServerError:
            time.sleep(2)
    raise SystemExit(f"vLLM was not ready after {limit:.0f} s")


def conformance(client: OpenAIClient, model: str) -> None:
    answer = client.complete_v1(model, PROMPT, max_tokens=16, logprobs=20)
    tokens = answer.tokens
    check("16 tokens come back", len(tokens) == 16, f"{len(tokens)}")
    check("every token has an id", all(t.id >= 0 for t in tokens))
    check("at most 20 alternatives", all(0 < len(t.top) <= MAX_LOGPROBS for t in tokens))
    check(
        "log-probabilities are numbers <= 0",
        all(a.logprob <= 0 and not math.isnan(a.logprob) for t in tokens for a in t.top),
    )
    check(
        "greedy picks the most likely",
        all(t.id == t.top[0].id for t in tokens),
        ", ".join(f"{t.id}/{t.top[0].id}" for t in tokens if t.id != t.top[0].id)[:200],
    )
    mass = max(sum(math.exp(a.logprob) for a in t.top) for t in tokens)
    check("the sent mass is at most 1", mass <= 1 + 1e-4, f"max {mass:.6f}")

    capped = client.complete_v1(model, PROMPT, max_tokens=2, logprobs=21)
    check("the client caps 21 at the server's 20", all(len(t.top) <= 20 for t in capped.tokens))
    try:
        client._request(
            "POST",
            "/v1/completions",
            {"model": model, "prompt": PROMPT, "max_tokens": 1, "logprobs": 21},
        )
        check("vLLM refuses 21 log-probabilities", False, "it answered")
    except ServerError as exc:
        check("vLLM refuses 21 log-probabilities in words", "400" in str(exc), str(exc)[:120])

    first = client.complete_v1(model, PROMPT, max_tokens=16, logprobs=1, temperature=1.0, seed=5)
    again = client.complete_v1(model, PROMPT, max_tokens=16, logprobs=1, temperature=1.0, seed=5)
    check(
        "sampling with a seed repeats",
        [t.id for t in first.tokens] == [t.id for t in again.tokens],
    )


def class_figure(url: str, model: str, students: int, tokens: int) -> float:
    done: list[int] = []
    errors: list[str] = []

    def student(index: int) -> None:
        client = OpenAIClient(url, timeout=300)
        try:
            answer = client.complete_v1(
                model, f"{PROMPT} (student {index})", max_tokens=tokens, logprobs=20
            )
            done.append(len(answer.tokens))
        except ServerError as exc:
            errors.append(str(exc))

    threads = [threading.Thread(target=student, args=(i,)) for i in range(students)]
    start = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seconds = time.perf_counter() - start
    check(f"{students} students: every request completes", not errors, "; ".join(errors)[:200])
    return sum(done) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", required=True, help="a model folder (or Hub id) for vLLM")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--tokens", type=int, default=64)
    parser.add_argument("--ready-timeout", type=float, default=900)
    parser.add_argument("--url", help="an already running vLLM instead of starting one")
    args = parser.parse_args()
    process = None
    url = args.url
    if url is None:
        port = args.port or free_port()
        url = f"http://127.0.0.1:{port}"
        process = start_vllm(args.model, port, Path(os.environ.get("OUT", ".")) / "vllm.log")
    try:
        client = OpenAIClient(url, timeout=300)
        models = wait_ready(client, process, args.ready_timeout) if process else client.models()
        check("/v1/models lists the model", bool(models), ", ".join(models))
        model = models[0]
        conformance(client, model)
        class_figure(url, model, 1, 8)  # warm-up
        one = class_figure(url, model, 1, args.tokens)
        eight = class_figure(url, model, 8, args.tokens)
        print(f"aggregate tokens/s: 1 student {one:.1f}, 8 students {eight:.1f}")
        check("8 students >= 4x one (GPU)", eight >= 4 * one, f"{eight / one:.2f}x")
    finally:
        if process is not None:
            process.terminate()
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                process.kill()
    print("FAILED: " + ", ".join(FAILURES) if FAILURES else "all checks passed")
    return 1 if FAILURES else 0


if __name__ == "__main__":
    raise SystemExit(main())
