"""`llm-playground rpc-worker`: llama.cpp's RPC worker (ggml-rpc-server, built from the
bindings' own source), so that another machine's CPU or GPUs hold some of a model's layers
while the decode loop stays with the app (`--rpc host:port` on generate and info, or
Settings → RPC workers in the window).

It listens on loopback unless --host says otherwise and warns, every time and louder for
another host, that llama.cpp's RPC protocol has no authentication and no encryption.
Ctrl+C stops it (exit 130); a worker that ends on its own is a failure (exit 1).
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from typing import Any

from app.core import paths
from app.core.backends.server_process import dies_with_parent, is_loopback, stop_process
from app.core.errors import SettingsError
from app.core.llama.rpc_workers import (
    DEFAULT_PORT,
    SECURITY_WARNING,
    WorkerError,
    available_memory,
    endpoint_text,
    plan_split,
    probe_worker,
)
from app.core.units import format_bytes

WORKER_NAME = "ggml-rpc-server"
READY_TIMEOUT_S = 30.0


def add_parser(sub: Any) -> None:
    worker = sub.add_parser(
        "rpc-worker", help="hold some of a model's layers for another machine's app"
    )
    worker.add_argument("--host", default="127.0.0.1", help="address to listen on")
    worker.add_argument("--port", type=int, default=DEFAULT_PORT)
    worker.add_argument("--device", help="llama.cpp devices to offer, comma-separated")
    worker.add_argument("--threads", type=int, default=None, help="CPU threads")


def add_rpc_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--rpc", default="", help="llama.cpp RPC workers holding layers: host:port[,host:port]"
    )
    parser.add_argument(
        "--no-repack",
        action="store_true",
        help="no CPU weight repacking: slower here, the numbers RPC workers give",
    )


def endpoints(args: argparse.Namespace) -> tuple[str, ...]:
    return tuple(part.strip() for part in args.rpc.split(",") if part.strip())


def rpc_facts(endpoints: tuple[str, ...], layers: int) -> dict[str, Any]:
    """The workers as they answer, and how a model of `layers` layers would be spread."""
    workers = [probe_worker(e) for e in endpoints]
    return {
        "workers": [
            {
                "worker": w.endpoint,
                "protocol": ".".join(map(str, w.version)),
                "devices": [
                    {"memory_free": d.memory_free, "memory_total": d.memory_total}
                    for d in w.devices
                ],
            }
            for w in workers
        ],
        "planned_split": plan_split(layers, available_memory(), workers).to_json(),
    }


def cmd_rpc_worker(args: argparse.Namespace) -> int:
    if not 1 <= args.port <= 65535:
        raise SettingsError(f"--port must be between 1 and 65535, got {args.port}")
    if args.threads is not None and args.threads < 1:
        raise SettingsError(f"--threads must be at least 1, got {args.threads}")
    binary = paths.llama_tool(WORKER_NAME, "LLM_PLAYGROUND_RPC_SERVER")
    if binary is None:
        print(
            "llm-playground: error: the RPC worker is not built: run `make llama-server` in "
            "the app's folder (it builds llama-server and ggml-rpc-server from the bindings' "
            "own source)",
            file=sys.stderr,
        )
        return 1
    command = [str(binary), "-H", args.host, "-p", str(args.port)]
    if args.device:
        command += ["-d", args.device]
    if args.threads:
        command += ["-t", str(args.threads)]
    print(f"warning: {SECURITY_WARNING}", file=sys.stderr)
    if not is_loopback(args.host):
        print(
            f"warning: listening on {args.host}: every machine that reaches port {args.port} "
            "can use this worker. " + SECURITY_WARNING,
            file=sys.stderr,
        )
    log_path = paths.log_dir() / "rpc-worker.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [*dies_with_parent(), *command], stdout=log, stderr=log, start_new_session=True
        )
        try:
            endpoint = endpoint_text(args.host, args.port)
            local = endpoint_text(
                "127.0.0.1" if args.host in ("0.0.0.0", "::") else args.host, args.port
            )
            info = _wait_ready(process, local)
            if info is None:
                print(
                    f"llm-playground: error: the RPC worker ended at start (its log: {log_path})",
                    file=sys.stderr,
                )
                return 1
            print(f"RPC worker at {endpoint} (protocol {'.'.join(map(str, info.version))})")
            for device in info.devices:
                print(
                    f"  device {device.index}: {format_bytes(device.memory_free)} free of "
                    f"{format_bytes(device.memory_total)}"
                )
            print(
                "Add it on the app's machine with --rpc HOST:PORT or Settings → RPC workers. "
                "Ctrl+C stops it.",
                flush=True,
            )
            code = process.wait()
        except KeyboardInterrupt:
            stop_process(process)
            print("RPC worker stopped", file=sys.stderr)
            return 130
        finally:
            stop_process(process)
    print(
        f"llm-playground: error: the RPC worker ended with status {code} (its log: {log_path})",
        file=sys.stderr,
    )
    return 1


def _wait_ready(process: subprocess.Popen[bytes], endpoint: str) -> Any:
    deadline = time.monotonic() + READY_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return None
        try:
            return probe_worker(endpoint, timeout=2.0)
        except WorkerError:
            time.sleep(0.2)
    return None
