"""Start llama.cpp's llama-server on a model, with the settings that make its numbers the
local engine's, and stop it cleanly.

The binary is built from the bindings' own llama.cpp source (packaging/
build_llama_server.sh), so protocol and kernels match. Measured on the default model:
with flash attention on, batch and micro-batch 512, the full sliding-window cache and a
unified KV cache, its log-probabilities equal the local engine's within 4e-4 nats; with
llama-server's defaults they differ by up to 0.13 nats.
"""

from __future__ import annotations

import ipaddress
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from app.core import paths
from app.core.backends.server_answers import ServerError
from app.core.backends.server_client import ServerClient
from app.core.errors import PlaygroundError

SERVER_NAME = "llama-server"
READY_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 10.0
# What keeps the server's numbers equal to the local engine's (see the module docstring).
EXACT_FLAGS = ("-fa", "on", "-b", "512", "-ub", "512", "--swa-full", "--kv-unified")


class ServeError(PlaygroundError):
    pass


@dataclass(frozen=True)
class ServeOptions:
    model: Path
    host: str = "127.0.0.1"
    port: int = 8080
    parallel: int = 1
    api_key: str | None = None
    n_ctx: int = 4096  # per slot
    threads: int | None = None
    n_gpu_layers: int | None = None  # None: llama-server's default (all that fit)


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_options(options: ServeOptions) -> None:
    """Refuse what would expose the server or cannot run, before anything starts."""
    if not is_loopback(options.host) and not options.api_key:
        raise ServeError(
            f"--host {options.host} makes the server reachable from other machines: give "
            "--api-key too (students then type the key), or keep the default 127.0.0.1"
        )
    if not 1 <= options.port <= 65535:
        raise ServeError(f"--port must be between 1 and 65535, got {options.port}")
    if not 1 <= options.parallel <= 64:
        raise ServeError(f"--parallel must be between 1 and 64, got {options.parallel}")
    if options.api_key is not None and (not options.api_key or "," in options.api_key):
        raise ServeError("--api-key must be non-empty and hold no comma")


def find_server_binary() -> Path:
    """llama-server built from the bindings' own source (see paths.llama_tool)."""
    found = paths.llama_tool(SERVER_NAME, "LLM_PLAYGROUND_LLAMA_SERVER")
    if found is None:
        raise ServeError(
            "llama-server is not built: run `make llama-server` in the app's folder (it "
            "builds llama.cpp's server from the bindings' own source, about 7 minutes), or "
            "set LLM_PLAYGROUND_LLAMA_SERVER to a llama-server built from the same llama.cpp"
        )
    return found


def server_command(binary: Path, options: ServeOptions) -> list[str]:
    from app.core.llama.llama_runtime import physical_cores

    command = [
        str(binary),
        "-m",
        str(options.model),
        "--host",
        options.host,
        "--port",
        str(options.port),
        "-np",
        str(options.parallel),
        "-c",
        str(options.n_ctx * options.parallel),
        "-t",
        str(options.threads or physical_cores()),
        *EXACT_FLAGS,
        "--no-webui",
    ]
    if options.n_gpu_layers is not None:
        command += ["-ngl", str(options.n_gpu_layers)]
    return command


def lan_addresses(host: str) -> list[str]:
    """The addresses students type in: this machine's own when it listens on all of
    them (0.0.0.0), else the host it listens on."""
    if host not in ("0.0.0.0", "::"):
        return [host]
    try:
        found = {str(info[4][0]) for info in socket.getaddrinfo(socket.gethostname(), None)}
    except OSError:
        found = set()
    return sorted(a for a in found if not a.startswith("127.") and a != "::1") or [host]


def dies_with_parent() -> list[str]:
    """A prefix for a llama.cpp program's command: on Linux, util-linux's setpriv asks the
    kernel to end it when the thread that started it ends (the app killed, a crash): no
    llama-server or RPC worker is left holding the port and the model's memory.
    (preexec_fn could do the same, but it is unsafe in a process with threads, as the
    window is.)"""
    setpriv = shutil.which("setpriv") if sys.platform.startswith("linux") else None
    return [setpriv, "--pdeathsig", "TERM", "--"] if setpriv else []


def stop_process(process: subprocess.Popen[bytes]) -> None:
    """Ask it to stop as Ctrl+C would, then kill it if it has not after STOP_TIMEOUT_S."""
    if process.poll() is None:
        process.send_signal(signal.SIGINT if os.name != "nt" else signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class ServerProcess:
    """A running llama-server; `stop()` (or leaving the `with` block) ends it."""

    def __init__(self, options: ServeOptions, log: Path | None = None) -> None:
        check_options(options)
        if not options.model.is_file():
            raise ServeError(f"{options.model}: no such model file")
        self.options = options
        self.command = server_command(find_server_binary(), options)
        host = "127.0.0.1" if options.host in ("0.0.0.0", "::") else options.host
        bracketed = f"[{host}]" if ":" in host else host
        self.url = f"http://{bracketed}:{options.port}"
        env = dict(os.environ)
        if options.api_key:
            env["LLAMA_API_KEY"] = options.api_key  # not on the command line, where ps shows it
        self.log_path = log
        self._log = open(log, "wb") if log is not None else subprocess.DEVNULL  # noqa: SIM115
        self._process = subprocess.Popen(
            [*dies_with_parent(), *self.command],
            stdout=self._log,
            stderr=self._log,
            env=env,
            start_new_session=True,
        )

    @property
    def pid(self) -> int:
        return self._process.pid

    @property
    def running(self) -> bool:
        return self._process.poll() is None

    def wait_ready(self, timeout: float = READY_TIMEOUT_S) -> None:
        client = ServerClient(self.url, self.options.api_key, timeout=2.0)
        deadline = time.monotonic() + timeout
        while True:
            code = self._process.poll()
            if code is not None:
                raise ServeError(f"llama-server ended at start with status {code}")
            try:
                if client.health():
                    return
            except ServerError:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise ServeError(f"llama-server was not ready after {timeout:.0f} s")
            time.sleep(0.2)

    def wait(self) -> int:
        return self._process.wait()

    def stop(self) -> None:
        stop_process(self._process)
        if self._log is not subprocess.DEVNULL:
            self._log.close()  # type: ignore[union-attr]

    def __enter__(self) -> ServerProcess:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
