"""The single entry point to the native llama.cpp library.

`llama_cpp` is imported here and nowhere else, lazily, so that the window can appear
before the native library loads. It is imported before anything of ours touches numpy:
on one CUDA build, numpy loaded before llama_cpp made model loading segfault.

llama.cpp's own log goes to Python logging instead of the process's stderr, and can be
captured while a model loads: llama-cpp-python only says "Failed to load model from
file", the reason is in the log.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import platform
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from app.core.errors import PlaygroundError

log = logging.getLogger("llama.cpp")

# ggml_log_level: NONE, DEBUG, INFO, WARN, ERROR, CONT (continues the previous line)
_LEVELS = {
    0: logging.DEBUG,
    1: logging.DEBUG,
    2: logging.DEBUG,  # llama.cpp is chatty at info level
    3: logging.WARNING,
    4: logging.ERROR,
}
_CONT = 5

_lib: ModuleType | None = None
_lib_lock = threading.Lock()
_callback: Any = None  # keeps the ctypes callback alive
_capture_lock = threading.Lock()
_captures: list[list[str]] = []
_last_level = 2


def _on_log(level: int, text: bytes | None, _user_data: object) -> None:
    global _last_level
    if level == _CONT:
        level = _last_level
    _last_level = level
    message = (text or b"").decode("utf-8", "replace")
    with _capture_lock:
        for capture in _captures:
            capture.append(message)
    stripped = message.rstrip("\n")
    if stripped:
        log.log(_LEVELS.get(level, logging.DEBUG), "%s", stripped)


def load_native_libraries() -> None:
    """Load llama.cpp's shared libraries now, before anything imports numpy (see the
    module's docstring); a missing library is reported on first use instead."""
    with contextlib.suppress(ImportError):
        import llama_cpp  # noqa: F401


def llama() -> ModuleType:
    """Return the `llama_cpp` module, loading the native library on first use."""
    global _lib, _callback
    with _lib_lock:
        if _lib is None:
            import llama_cpp

            _callback = llama_cpp.llama_log_callback(_on_log)
            llama_cpp.llama_log_set(_callback, ctypes.c_void_p(0))
            llama_cpp.llama_backend_init()
            _install_abort_callback()
            _lib = llama_cpp
        return _lib


def ggml() -> ctypes.CDLL:
    """ggml's own library (tensor reads, type traits), as the bindings load it."""
    llama()
    from llama_cpp import _ggml

    return _ggml.libggml  # type: ignore[no-any-return]


AbortHandler = Callable[[str], None]
_ABORT_CALLBACK = ctypes.CFUNCTYPE(None, ctypes.c_char_p)
_abort_callback: Any = None  # keeps the ctypes callback alive


def _exit_on_abort(message: str) -> None:
    """The default: one line and exit 1, not SIGABRT with a backtrace (the CLI)."""
    sys.stderr.write(f"llm-playground: error: llama.cpp stopped: {message}\n")
    sys.stderr.flush()
    os._exit(1)


_abort_handler: AbortHandler = _exit_on_abort


def set_abort_handler(handler: AbortHandler) -> None:
    """What runs when llama.cpp gives up (GGML_ABORT: an RPC worker gone mid-run, a
    worker that cannot be reached). llama.cpp calls abort() when the handler returns, so
    a handler that must keep the process alive never returns (see abort_guard)."""
    global _abort_handler
    _abort_handler = handler


def _on_abort(message: bytes | None) -> None:
    text = (message or b"").decode("utf-8", "replace").strip()
    # "ggml-rpc.cpp:123: Remote RPC server crashed..." → the sentence after the location.
    reason = text.split(": ", 1)[1] if ": " in text else text
    log.critical("llama.cpp aborted: %s", text)
    _abort_handler(reason)


def _install_abort_callback() -> None:
    global _abort_callback
    from llama_cpp import _ggml

    setter = getattr(_ggml.libggml, "ggml_set_abort_callback", None)
    if setter is None:  # an older llama.cpp: aborts stay aborts
        return
    setter.argtypes = [_ABORT_CALLBACK]
    setter.restype = ctypes.c_void_p
    _abort_callback = _ABORT_CALLBACK(_on_abort)
    setter(_abort_callback)


@contextlib.contextmanager
def captured_log() -> Iterator[list[str]]:
    """Collect llama.cpp's log messages written while the block runs."""
    lines: list[str] = []
    with _capture_lock:
        _captures.append(lines)
    try:
        yield lines
    finally:
        with _capture_lock:
            # By identity: two loads on two threads (the engine's and the tokenizer's) can
            # hold equal lists, and list.remove would take the other one's.
            for index, capture in enumerate(_captures):
                if capture is lines:
                    del _captures[index]
                    break


def failure_reason(lines: list[str]) -> str:
    """The most telling line of a captured load log ("tensor ... not found", ...)."""
    text = "".join(lines).splitlines()
    errors = [ln.strip() for ln in text if "error" in ln.lower() or "failed" in ln.lower()]
    for line in errors:
        # "llama_model_load: error loading model: <the cause>" carries the cause last.
        if "error loading model" in line:
            return line.split("error loading model", 1)[1].lstrip(": ").strip()
    if errors:
        return errors[0]
    return text[-1].strip() if text else "unknown reason"


def physical_cores() -> int:
    """Physical cores available to this process (llama.cpp's own default halves logical CPUs)."""
    logical = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    logical = logical or os.cpu_count() or 1
    system = platform.system()
    try:
        if system == "Linux":
            cores: set[tuple[str, str]] = set()
            physical_id = core_id = ""
            with open("/proc/cpuinfo", encoding="utf-8") as cpuinfo:
                for line in cpuinfo:
                    key, _, value = line.partition(":")
                    key, value = key.strip(), value.strip()
                    if key == "physical id":
                        physical_id = value
                    elif key == "core id":
                        core_id = value
                        cores.add((physical_id, core_id))
            if cores:
                return max(1, min(len(cores), logical))
        elif system == "Darwin":
            out = (
                subprocess.run(
                    ["sysctl", "-n", "hw.perflevel0.physicalcpu"],
                    capture_output=True,
                    text=True,
                    check=False,
                ).stdout.strip()
                or subprocess.run(
                    ["sysctl", "-n", "hw.physicalcpu"], capture_output=True, text=True, check=False
                ).stdout.strip()
            )
            if out.isdigit():
                return max(1, int(out))
    except OSError:
        pass
    return max(1, logical)


@dataclass(frozen=True)
class Device:
    name: str
    description: str
    kind: str  # "CPU", "GPU", "iGPU" or "accelerator"
    memory_free: int
    memory_total: int


@dataclass(frozen=True)
class BackendInfo:
    gpu_offload: bool
    backend: str  # "CPU", "CUDA", "Metal", "Vulkan", ...
    devices: tuple[Device, ...]
    system_info: str

    def describe(self) -> str:
        gpus = [d for d in self.devices if d.kind != "CPU"]
        if self.gpu_offload and gpus:
            return f"{self.backend}: " + ", ".join(d.description or d.name for d in gpus)
        return "CPU"


_DEVICE_KINDS = {0: "CPU", 1: "GPU", 2: "accelerator", 3: "iGPU"}


def _devices() -> tuple[Device, ...]:
    llama()
    from llama_cpp import _ggml

    lib = _ggml.libggml
    try:
        lib.ggml_backend_dev_count.restype = ctypes.c_size_t
        lib.ggml_backend_dev_get.argtypes = [ctypes.c_size_t]
        lib.ggml_backend_dev_get.restype = ctypes.c_void_p
        for name in ("ggml_backend_dev_name", "ggml_backend_dev_description"):
            getattr(lib, name).argtypes = [ctypes.c_void_p]
            getattr(lib, name).restype = ctypes.c_char_p
        lib.ggml_backend_dev_type.argtypes = [ctypes.c_void_p]
        lib.ggml_backend_dev_type.restype = ctypes.c_int
        lib.ggml_backend_dev_memory.argtypes = [
            ctypes.c_void_p,
            ctypes.POINTER(ctypes.c_size_t),
            ctypes.POINTER(ctypes.c_size_t),
        ]
        lib.ggml_backend_dev_memory.restype = None
    except AttributeError:
        return ()
    devices = []
    for i in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(i)
        if dev in _rpc_pointers():  # another machine's: asking it may reach a dead worker
            continue
        free, total = ctypes.c_size_t(0), ctypes.c_size_t(0)
        lib.ggml_backend_dev_memory(dev, ctypes.byref(free), ctypes.byref(total))
        devices.append(
            Device(
                name=(lib.ggml_backend_dev_name(dev) or b"").decode(),
                description=(lib.ggml_backend_dev_description(dev) or b"").decode(),
                kind=_DEVICE_KINDS.get(lib.ggml_backend_dev_type(dev), "other"),
                memory_free=free.value,
                memory_total=total.value,
            )
        )
    return tuple(devices)


def backend_info() -> BackendInfo:
    """What this build of llama.cpp can run on, and the devices it sees."""
    lib = llama()
    system_info = (lib.llama_print_system_info() or b"").decode("utf-8", "replace")
    devices = _devices()
    backend = "CPU"
    for dev in devices:
        if dev.kind == "CPU":
            continue
        for known in ("CUDA", "Metal", "Vulkan", "ROCm", "HIP", "SYCL", "MTL"):
            if dev.name.upper().startswith(known.upper()):
                backend = "Metal" if known == "MTL" else known
                break
        break
    # A build with the RPC backend "supports offload" without a GPU here: offload to RPC
    # workers is their own setting (rpc_workers), so count this machine's devices only.
    local = [d for d in devices if not d.name.startswith("RPC")]
    devices = tuple(local)
    return BackendInfo(
        gpu_offload=bool(lib.llama_supports_gpu_offload()) and any(d.kind != "CPU" for d in local),
        backend=backend,
        devices=devices,
        system_info=system_info.strip(),
    )


_rpc_devices: dict[str, tuple[tuple[int, str], ...]] = {}


def rpc_registered(endpoint: str) -> bool:
    """Whether llama.cpp holds a connection to this worker (it keeps it for the process's
    life, and a worker serves one client: asking it again from here would not be answered)."""
    return endpoint in _rpc_devices


def _rpc_pointers() -> set[int]:
    return {pointer for devices in _rpc_devices.values() for pointer, _name in devices}


def local_offload_devices() -> Any:
    """This machine's devices to offload to (GPUs), as llama_model_params.devices wants
    them (NULL-terminated), or None before any RPC worker was registered (llama.cpp then
    uses every device there is). Once a worker is registered llama.cpp would use its
    devices too, and ask them their memory at every load: a dead worker would abort it."""
    if not _rpc_devices:
        return None
    from llama_cpp import _ggml

    lib = _ggml.libggml
    rpc = _rpc_pointers()
    local = []
    for i in range(lib.ggml_backend_dev_count()):
        dev = lib.ggml_backend_dev_get(i)
        if dev not in rpc and lib.ggml_backend_dev_type(dev) != 0:  # 0: CPU
            local.append(dev)
    return (ctypes.c_void_p * (len(local) + 1))(*local, None)


def rpc_devices(endpoint: str) -> tuple[tuple[int, str], ...]:
    """The devices of the RPC worker at `endpoint` (probed already: llama.cpp aborts the
    process on a worker it cannot reach), registered with llama.cpp as its own `--rpc`
    does (common/arg.cpp, add_rpc_devices). Once per worker and process: llama.cpp keeps
    a worker's devices registered; a model loads over the ones it is given."""
    known = _rpc_devices.get(endpoint)
    if known is not None:
        return known
    llama()
    from llama_cpp import _ggml

    lib = _ggml.libggml
    lib.ggml_backend_reg_by_name.argtypes = [ctypes.c_char_p]
    lib.ggml_backend_reg_by_name.restype = ctypes.c_void_p
    lib.ggml_backend_reg_get_proc_address.argtypes = [ctypes.c_void_p, ctypes.c_char_p]
    lib.ggml_backend_reg_get_proc_address.restype = ctypes.c_void_p
    lib.ggml_backend_register.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_register.restype = None
    lib.ggml_backend_reg_dev_count.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_reg_dev_count.restype = ctypes.c_size_t
    lib.ggml_backend_reg_dev_get.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    lib.ggml_backend_reg_dev_get.restype = ctypes.c_void_p
    lib.ggml_backend_dev_name.argtypes = [ctypes.c_void_p]
    lib.ggml_backend_dev_name.restype = ctypes.c_char_p
    reg = lib.ggml_backend_reg_by_name(b"RPC")
    if not reg:
        raise PlaygroundError(
            "this build of llama.cpp has no RPC backend: set the app up again with `make` "
            "(it builds the bindings with GGML_RPC=ON)"
        )
    address = lib.ggml_backend_reg_get_proc_address(reg, b"ggml_backend_rpc_add_server")
    if not address:
        raise PlaygroundError("llama.cpp's RPC backend lacks ggml_backend_rpc_add_server")
    add_server = ctypes.CFUNCTYPE(ctypes.c_void_p, ctypes.c_char_p)(address)
    worker_reg = add_server(endpoint.encode())
    if not worker_reg:
        raise PlaygroundError(f"the RPC worker at {endpoint} offers no device")
    lib.ggml_backend_register(worker_reg)
    pointers = [
        int(lib.ggml_backend_reg_dev_get(worker_reg, i))
        for i in range(lib.ggml_backend_reg_dev_count(worker_reg))
    ]
    devices = tuple((p, (lib.ggml_backend_dev_name(p) or b"").decode()) for p in pointers)
    _rpc_devices[endpoint] = devices
    return devices
