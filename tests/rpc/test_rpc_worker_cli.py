"""`llm-playground rpc-worker` as a teacher runs it, and a worker of another llama.cpp
version named as such (a stand-in that answers HELLO with protocol 6.0.0)."""

from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from rpc_helpers import free_port

from app.core.llama.rpc_workers import WorkerError, probe_worker


def test_rpc_worker_prints_its_address_devices_and_warning(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "LLM_PLAYGROUND_DATA_DIR": str(tmp_path)}
    with subprocess.Popen(
        [sys.executable, "-m", "app", "rpc-worker", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as worker:
        assert worker.stdout is not None
        assert (
            worker.stdout.readline().strip() == f"RPC worker at 127.0.0.1:{port} (protocol 7.0.0)"
        )
        assert worker.stdout.readline().startswith("  device 0: ")
        info = probe_worker(f"127.0.0.1:{port}")
        assert info.devices
        worker.send_signal(signal.SIGINT)
        _out, err = worker.communicate(timeout=30)
    assert worker.returncode == 130
    assert "no authentication and no encryption" in err and "Traceback" not in err
    with pytest.raises(WorkerError, match="connection refused"):
        probe_worker(f"127.0.0.1:{port}")

    bad = subprocess.run(
        [sys.executable, "-m", "app", "rpc-worker", "--port", "70000"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert bad.returncode == 2 and "--port must be between 1 and 65535" in bad.stderr


def test_a_worker_of_another_version_is_named_as_such() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        port = server.getsockname()[1]

        def answer() -> None:
            connection, _address = server.accept()
            with connection:
                request = connection.recv(1 + 8 + 24)
                assert request[0] == 14  # HELLO
                connection.sendall(struct.pack("<Q", 28) + bytes([6, 0, 0, 0]) + bytes(24))

        thread = threading.Thread(target=answer, daemon=True)
        thread.start()
        with pytest.raises(WorkerError, match=r"speaks RPC protocol 6\.0\.0, this app 7\.0\.0"):
            probe_worker(f"127.0.0.1:{port}")
        thread.join(timeout=5)


def test_the_model_card_spreads_the_need_over_the_workers(tmp_path: Path) -> None:
    from rpc_helpers import start_worker

    from app.core.llama.rpc_workers import describe_spread

    started = [start_worker(tmp_path / "a.log"), start_worker(tmp_path / "b.log")]
    endpoints = tuple(endpoint for _p, endpoint in started)
    try:
        text = describe_spread(300 << 20, 18, endpoints)
        assert text.startswith("Spread over RPC workers: ")
        assert "on this computer (fits)" in text
        for endpoint in endpoints:
            assert f"on {endpoint} (fits)" in text
        counts = [int(part.split(" layers")[0]) for part in text.split(": ", 1)[1].split("; ")]
        assert sum(counts) == 18
        absent = describe_spread(300 << 20, 18, (f"127.0.0.1:{free_port()}",))
        assert absent.startswith("RPC workers: no RPC worker answers")
    finally:
        for process, _endpoint in started:
            process.terminate()
            process.wait(timeout=10)
