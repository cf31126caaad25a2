"""A model spread over two real RPC workers on 127.0.0.1: the decode loop stays here, so
every number equals a local run with the same kernels (weight repacking off)."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from rpc_helpers import free_port, start_worker

from app.core.decoding.beam_search import beam_search
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.llama.engine import Engine
from app.core.llama.engine_config import EngineConfig
from app.core.llama.rpc_workers import PROTOCOL, WorkerError, parse_endpoint, probe_worker

PROMPT = "The capital of France is"


@pytest.fixture(scope="module")
def spread(model_path: Path, workers: tuple[str, str]) -> Iterator[Engine]:
    config = EngineConfig(n_ctx=1024, repack=False, rpc_workers=workers)
    with Engine(model_path, config) as engine:
        yield engine


@pytest.fixture(scope="module")
def unpacked(model_path: Path) -> Iterator[Engine]:
    with Engine(model_path, EngineConfig(n_ctx=1024, repack=False)) as engine:
        yield engine


def test_a_worker_answers_with_its_version_and_memory(workers: tuple[str, str]) -> None:
    info = probe_worker(workers[0])
    assert info.version == PROTOCOL and info.devices
    assert all(0 < d.memory_free <= d.memory_total for d in info.devices)
    assert parse_endpoint("10.0.0.5") == ("10.0.0.5", 50052)
    assert parse_endpoint("[::1]:7000") == ("::1", 7000)
    with pytest.raises(WorkerError, match="port must be a number"):
        parse_endpoint("host:http")


def test_an_absent_worker_is_named_within_5_seconds(model_path: Path) -> None:
    absent = f"127.0.0.1:{free_port()}"
    start = time.monotonic()
    with pytest.raises(WorkerError, match=f"no RPC worker answers at {absent}"):
        Engine(model_path, EngineConfig(n_ctx=256, rpc_workers=(absent,)))
    assert time.monotonic() - start < 5


def test_the_layers_are_spread_and_said(spread: Engine, workers: tuple[str, str]) -> None:
    split = spread.split
    assert split is not None
    assert split.layers == 18 and split.local > 0
    assert [endpoint for endpoint, _count in split.shares] == list(workers)
    assert all(count > 0 for _endpoint, count in split.shares)
    assert split.local + sum(c for _e, c in split.shares) == 18
    described = spread.info.describe_device()
    assert described.startswith(f"CPU + 2 RPC workers (layers 0–{split.local - 1} here, ")
    assert f"on {workers[1]})" in described and "weight repacking off" in described


def test_greedy_sampled_and_beams_equal_the_local_run(spread: Engine, unpacked: Engine) -> None:
    ids = unpacked.tokenize_prompt(PROMPT)
    for settings in (
        DecodingSettings(mode="greedy", max_tokens=24),
        DecodingSettings(mode="sample", temperature=1.1, seed=3, max_tokens=24),
    ):
        here = generate(unpacked, ids, settings)
        there = generate(spread, ids, settings)
        assert there.ids == here.ids
        for a, b in zip(there.steps, here.steps, strict=True):
            for x, y in zip(a.top(5, 1.0), b.top(5, 1.0), strict=True):
                assert x.id == y.id and abs(x.p - y.p) <= 1e-3
    beams = DecodingSettings(mode="beam", beam_width=3, max_tokens=6)
    here_beams = beam_search(unpacked, ids, beams)
    there_beams = beam_search(spread, ids, beams)
    assert [h.text for h in there_beams.hypotheses] == [h.text for h in here_beams.hypotheses]
    for a, b in zip(there_beams.hypotheses, here_beams.hypotheses, strict=True):
        assert a.logprob == pytest.approx(b.logprob, abs=1e-3)


def test_generate_with_rpc_names_the_workers_and_the_split(tmp_path: Path) -> None:
    # Workers of its own: a worker serves one client at a time, and this process holds
    # the session's workers.
    started = [start_worker(tmp_path / "a.log"), start_worker(tmp_path / "b.log")]
    workers = tuple(endpoint for _process, endpoint in started)
    try:
        _generate_over(workers)
    finally:
        for process, _endpoint in started:
            process.terminate()
            process.wait(timeout=10)


def _generate_over(workers: tuple[str, ...]) -> None:
    common = ("generate", "--model", "default", "--prompt", PROMPT, "--max-tokens", "8")
    spread = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            *common,
            "--ctx",
            "1024",
            "--rpc",
            ",".join(workers),
            "--no-repack",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert spread.returncode == 0, spread.stderr
    document = json.loads(spread.stdout)
    backend = document["backend"]
    assert backend["weight_repacking"] is False
    assert [w["worker"] for w in backend["rpc"]["workers"]] == list(workers)
    assert (
        backend["rpc"]["local_layers"] + sum(w["layers"] for w in backend["rpc"]["workers"]) == 18
    )
    assert "CPU + 2 RPC workers" in backend["device"]

    absent = subprocess.run(
        [sys.executable, "-m", "app", *common, "--rpc", f"127.0.0.1:{free_port()}"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert absent.returncode == 1 and "no RPC worker answers" in absent.stderr
    assert "Traceback" not in absent.stderr


def test_workers_in_use_are_described_from_their_last_answer(
    spread: Engine, workers: tuple[str, str]
) -> None:
    """A worker serves one client and llama.cpp keeps its connection: the model card and
    Settings describe it from its answer before the load, at once, not as not answering."""
    from app.core.llama.rpc_workers import current_info, describe_spread

    assert spread.split is not None
    start = time.monotonic()
    assert current_info(workers[0]).endpoint == workers[0]
    text = describe_spread(300 << 20, 18, workers)
    assert time.monotonic() - start < 1
    assert text.startswith("Spread over RPC workers: ") and f"on {workers[1]} (fits)" in text
