"""llama.cpp RPC workers: other machines' devices holding some of the model's layers.

A worker is llama.cpp's `rpc-server` (ggml-rpc-server, built from the bindings' own
source; `llm-playground rpc-worker` starts one). The decode loop, the sampler and every
analysis stay here on the logits that come back; the workers compute their layers.

Before llama.cpp is told of a worker, it is asked here, over its own protocol, for its
version, devices and memory: llama.cpp's RPC client aborts the whole process when a
worker cannot be reached or speaks another protocol (GGML_ABORT, "Failed to connect"),
so an absent worker or one of another llama.cpp version must be found first and named in
words. The protocol (ggml-rpc.cpp, version 7.0.0 here): a request is the command byte,
an 8-byte little-endian size and the payload; an answer is an 8-byte size and the
payload; the first request of a connection is HELLO. A worker serves one connection at a
time, so a probe is closed before the model loads.

The protocol has no authentication and no encryption: whoever reaches a worker's port can
run computations on it and read what it holds. Loopback by default; another host only
when asked, with that said.
"""

from __future__ import annotations

import ctypes
import re
import socket
import struct
import time
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import PlaygroundError
from app.core.llama.llama_runtime import rpc_devices, rpc_registered
from app.core.units import format_bytes

PROTOCOL = (7, 0, 0)  # RPC_PROTO_*_VERSION of the llama.cpp these bindings carry
DEFAULT_PORT = 50052
CONNECT_TIMEOUT_S = 4.0  # an absent worker is named within 5 s
_HELLO, _DEVICE_COUNT, _DEVICE_MEMORY = 14, 15, 11
_CAPS_SIZE = 24  # RPC_CONN_CAPS_SIZE: transport upgrades; zeros ask for plain TCP
SECURITY_WARNING = (
    "llama.cpp's RPC protocol has no authentication and no encryption: anyone who can "
    "reach this port can run computations on this machine and read the model's layers. "
    "Use it only on a network you trust."
)


class WorkerError(PlaygroundError):
    pass


@dataclass(frozen=True)
class WorkerDevice:
    index: int
    memory_free: int
    memory_total: int


@dataclass(frozen=True)
class WorkerInfo:
    endpoint: str  # "host:port"
    version: tuple[int, int, int]
    devices: tuple[WorkerDevice, ...]

    @property
    def memory_free(self) -> int:
        return sum(d.memory_free for d in self.devices)


def parse_endpoint(text: str) -> tuple[str, int]:
    """ "host:port" (or "host", port 50052; "[::1]:50052" for IPv6) → (host, port)."""
    value = text.strip()
    if not value:
        raise WorkerError("an RPC worker's address is empty (write host:port)")
    if value.startswith("["):
        host, _, rest = value[1:].partition("]")
        port_text = rest.removeprefix(":")
    elif value.count(":") == 1:
        host, _, port_text = value.partition(":")
    else:
        host, port_text = value, ""
    if not host:
        raise WorkerError(f"'{text}' names no host (write host:port)")
    if not port_text:
        return host, DEFAULT_PORT
    if not port_text.isdigit() or not 1 <= int(port_text) <= 65535:
        raise WorkerError(f"'{text}': the port must be a number from 1 to 65535")
    return host, int(port_text)


def endpoint_text(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _read(sock: socket.socket, size: int, endpoint: str) -> bytes:
    data = bytearray()
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise WorkerError(
                f"the RPC worker at {endpoint} closed the connection: it may be serving "
                "another client (a worker serves one at a time) or not be an RPC worker"
            )
        data += chunk
    return bytes(data)


def _ask(sock: socket.socket, command: int, payload: bytes, answer: int, endpoint: str) -> bytes:
    sock.sendall(struct.pack("<BQ", command, len(payload)) + payload)
    (size,) = struct.unpack("<Q", _read(sock, 8, endpoint))
    if size != answer:
        raise WorkerError(f"{endpoint} answered, but not as a llama.cpp RPC worker does")
    return _read(sock, size, endpoint)


def probe_worker(text: str, timeout: float = CONNECT_TIMEOUT_S) -> WorkerInfo:
    """Ask a worker for its protocol version, devices and their memory, or say in words
    why it cannot be used (not there, too slow, another llama.cpp version)."""
    host, port = parse_endpoint(text)
    endpoint = endpoint_text(host, port)
    start = time.monotonic()
    try:
        sock = socket.create_connection((host, port), timeout=timeout)
    except ConnectionRefusedError:
        raise WorkerError(
            f"no RPC worker answers at {endpoint} (connection refused): start one there "
            "with `llm-playground rpc-worker`"
        ) from None
    except TimeoutError:
        raise WorkerError(
            f"the RPC worker at {endpoint} did not answer in {timeout:.0f} s"
        ) from None
    except OSError as exc:
        raise WorkerError(
            f"cannot reach the RPC worker at {endpoint}: {exc.strerror or exc}"
        ) from None
    with sock:
        sock.settimeout(max(0.5, timeout - (time.monotonic() - start)))
        try:
            hello = _ask(sock, _HELLO, bytes(_CAPS_SIZE), 4 + _CAPS_SIZE, endpoint)
            version = (hello[0], hello[1], hello[2])
            if version[0] != PROTOCOL[0] or version[1] > PROTOCOL[1]:
                raise WorkerError(
                    f"the RPC worker at {endpoint} speaks RPC protocol "
                    f"{'.'.join(map(str, version))}, this app {'.'.join(map(str, PROTOCOL))}: "
                    "start a worker of the same llama.cpp version (`llm-playground rpc-worker` "
                    "of this app)"
                )
            (count,) = struct.unpack("<I", _ask(sock, _DEVICE_COUNT, b"", 4, endpoint))
            devices = []
            for index in range(min(count, 64)):
                memory = _ask(sock, _DEVICE_MEMORY, struct.pack("<I", index), 16, endpoint)
                free, total = struct.unpack("<QQ", memory)
                devices.append(WorkerDevice(index, free, total))
        except TimeoutError:
            raise WorkerError(
                f"{endpoint} did not answer in {timeout:.0f} s: it is not an RPC worker, or it "
                "is serving another client (a worker serves one at a time)"
            ) from None
        except OSError as exc:
            raise WorkerError(
                f"the RPC worker at {endpoint} failed: {exc.strerror or exc}"
            ) from None
    if not devices:
        raise WorkerError(f"the RPC worker at {endpoint} offers no device")
    info = WorkerInfo(endpoint, version, tuple(devices))
    _last_answers[endpoint] = info
    return info


_last_answers: dict[str, WorkerInfo] = {}  # each worker's last answer to a probe


def current_info(text: str) -> WorkerInfo:
    """A worker's answer: asked now, or, for a worker llama.cpp is connected to already
    (which answers no one else), its answer from before the model loaded over it."""
    host, port = parse_endpoint(text)
    endpoint = endpoint_text(host, port)
    known = _last_answers.get(endpoint)
    if known is not None and rpc_registered(endpoint):
        return known
    return probe_worker(endpoint)


@dataclass(frozen=True)
class LayerSplit:
    """How a model's repeating layers are spread: the first `local` here, then each
    worker's share, in order (llama.cpp puts the offloaded layers last)."""

    layers: int
    local: int
    shares: tuple[tuple[str, int], ...]  # (endpoint, layers) per worker

    def describe(self) -> str:
        """ "CPU + 2 RPC workers (layers 0–8 here, 9–13 on a:50052, 14–17 on b:50052)"."""
        parts = [f"layers 0–{self.local - 1} here"] if self.local else []
        first = self.local
        for endpoint, count in self.shares:
            if count:
                parts.append(f"{first}–{first + count - 1} on {endpoint}")
            first += count
        workers = len(self.shares)
        return f"CPU + {workers} RPC worker{'s' if workers != 1 else ''} ({', '.join(parts)})"

    def to_json(self) -> dict[str, object]:
        first = self.local
        spans = []
        for endpoint, count in self.shares:
            spans.append({"worker": endpoint, "first_layer": first, "layers": count})
            first += count
        return {"layers": self.layers, "local_layers": self.local, "workers": spans}


def plan_split(layers: int, local_free: int, workers: list[WorkerInfo]) -> LayerSplit:
    """Layers in proportion to free memory, this machine counted as one more holder."""
    weights = [max(local_free, 1)] + [max(w.memory_free, 1) for w in workers]
    total = sum(weights)
    counts = [layers * w // total for w in weights]
    for i in range(layers - sum(counts)):  # the rounding's remainder, to the workers first
        counts[1 + i % len(workers) if workers else 0] += 1
    return LayerSplit(
        layers, counts[0], tuple((w.endpoint, c) for w, c in zip(workers, counts[1:], strict=True))
    )


@dataclass
class Placement:
    """What a model load over RPC workers hands llama.cpp: the workers' devices (and
    nothing else to offload to), the layers they take and each one's share."""

    workers: list[WorkerInfo]
    planned: LayerSplit
    n_gpu_layers: int
    device_names: dict[str, str]  # llama.cpp's device name ("RPC0") → the worker's endpoint
    _keep: list[Any] = field(default_factory=list)  # ctypes arrays llama.cpp reads at load

    @property
    def devices_address(self) -> int:
        return ctypes.addressof(self._keep[0])

    @property
    def split_pointer(self) -> Any:
        return self._keep[1]


def place_on_workers(endpoints: tuple[str, ...], layers: int, local_free: int) -> Placement:
    """Probe every worker (a clear error for one that is absent or of another version),
    register them with llama.cpp and plan which layers each holds."""
    workers = [probe_worker(e) for e in endpoints]
    seen = set()
    for w in workers:
        if w.endpoint in seen:
            raise WorkerError(f"the RPC worker {w.endpoint} is listed twice")
        seen.add(w.endpoint)
    planned = plan_split(layers, local_free, workers)
    pointers: list[int] = []
    weights: list[float] = []
    names: dict[str, str] = {}
    for worker, (_endpoint, count) in zip(workers, planned.shares, strict=True):
        devices = rpc_devices(worker.endpoint)
        for index, (pointer, name) in enumerate(devices):
            pointers.append(pointer)
            names[name] = worker.endpoint
            weights.append(float(count) if index == 0 else 0.0)
    offloaded = layers - planned.local
    weights[-1] += 1.0  # the output layer goes with the last worker's layers
    device_array = (ctypes.c_void_p * (len(pointers) + 1))(*pointers, None)
    split_array = (ctypes.c_float * len(weights))(*weights)
    return Placement(workers, planned, offloaded + 1, names, [device_array, split_array])


_ASSIGNED = re.compile(r"layer\s+(\d+) assigned to device (\S+?),")


def loaded_split(lines: list[str], placement: Placement) -> LayerSplit:
    """Which layers went where, as llama.cpp's load log says (the truth, not the plan)."""
    where: dict[int, str] = {}
    for match in _ASSIGNED.finditer("".join(lines)):
        where[int(match.group(1))] = placement.device_names.get(match.group(2), "here")
    layers = placement.planned.layers
    local = sum(1 for i in range(layers) if where.get(i, "here") == "here")
    shares = tuple(
        (w.endpoint, sum(1 for i in range(layers) if where.get(i) == w.endpoint))
        for w in placement.workers
    )
    return LayerSplit(layers, local, shares)


def available_memory() -> int:
    """This machine's available memory in bytes (MemAvailable), for the split."""
    try:
        with open("/proc/meminfo", encoding="ascii") as meminfo:
            for line in meminfo:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 8 << 30


def describe_spread(need: int, layers: int, endpoints: tuple[str, ...]) -> str:
    """How a model needing `need` bytes would be spread over this machine and the workers
    (each asked for its free memory now), for the model card: who holds what, and whether
    it fits in what each has free."""
    try:
        workers = [current_info(e) for e in endpoints]
    except WorkerError as exc:
        return f"RPC workers: {exc}"
    local_free = available_memory()
    split = plan_split(max(layers, 1), local_free, workers)
    per_layer = need / max(layers, 1)
    holders = [("this computer", split.local, local_free)] + [
        (w.endpoint, count, w.memory_free)
        for w, (_e, count) in zip(workers, split.shares, strict=True)
    ]
    parts = []
    for name, count, free in holders:
        size = int(per_layer * count)
        room = "fits" if size <= free * 0.9 else "does not fit"
        parts.append(f"{count} layers, ~{format_bytes(size)} on {name} ({room})")
    return "Spread over RPC workers: " + "; ".join(parts)
