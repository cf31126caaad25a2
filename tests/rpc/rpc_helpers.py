"""Starting real RPC workers for the tests (ggml-rpc-server from `make llama-server`)."""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path

from app.core import paths
from app.core.llama.rpc_workers import WorkerError, probe_worker


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_worker(log: Path) -> tuple[subprocess.Popen[bytes], str]:
    binary = paths.llama_tool("ggml-rpc-server", "LLM_PLAYGROUND_RPC_SERVER")
    assert binary is not None, "run `make llama-server` first"
    port = free_port()
    with log.open("wb") as out:  # the child keeps its own descriptor
        process = subprocess.Popen(
            [str(binary), "-H", "127.0.0.1", "-p", str(port), "-t", "1"],
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    endpoint = f"127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            probe_worker(endpoint, timeout=1.0)
            return process, endpoint
        except WorkerError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise
            time.sleep(0.1)
