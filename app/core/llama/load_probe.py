"""Load a model file in a child process first, so a crash inside llama.cpp ends the child.

The GGUF reader (gguf_file.py) refuses malformed files before llama.cpp sees them, but a
file can be well-formed and still make llama.cpp abort: a SentencePiece vocabulary
without the byte tokens, for one, ends in `std::terminate` from `unordered_map::at`
while the vocabulary loads, and takes the whole process with it. So the first time a
file (path, size, modification time) is opened, a child process loads it (vocabulary,
then the whole model when it is small enough to be quick) and tokenizes a line; only a
clean exit lets the app load it itself. Files that passed are remembered.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

from app.core import paths
from app.core.errors import ModelFileError
from app.core.llama.load_progress import LoadCancelled
from app.core.state_file import add_entry, read_state

PROBE_COMMAND = "_probe"  # a hidden subcommand of the app (app/cli.py): load_probe_child
TIMEOUT_S = 300.0
_LOCK = threading.Lock()


def _cache_file() -> Path:
    return paths.cache_dir() / "loadable-models.json"


def _key(path: Path) -> str:
    st = path.stat()
    from importlib.metadata import version

    try:
        build = version("llama_cpp_python")
    except Exception:
        build = "bundled"
    return f"{path.resolve()}|{st.st_size}|{st.st_mtime_ns}|{build}"


def _load_cache() -> dict[str, bool]:
    data = read_state(_cache_file())
    return data if isinstance(data, dict) else {}


def _remember(key: str) -> None:
    with _LOCK:
        add_entry(_cache_file(), key, True)


def probe_command(path: Path) -> list[str]:
    if getattr(sys, "frozen", False):
        return [sys.executable, PROBE_COMMAND, str(path)]
    return [sys.executable, "-m", "app", PROBE_COMMAND, str(path)]


def _wait_for(child: subprocess.Popen[str], path: Path, cancel: threading.Event | None) -> None:
    deadline = time.monotonic() + TIMEOUT_S
    stop = cancel or threading.Event()  # never set: the wait is then the poll's pause
    while child.poll() is None:
        if stop.wait(0.05):
            child.kill()
            child.wait()
            raise LoadCancelled("loading was cancelled while the file was being checked")
        if time.monotonic() > deadline:
            child.kill()
            child.wait()
            raise ModelFileError(
                f"{path.name}: llama.cpp did not finish reading this file in {TIMEOUT_S:.0f} s"
            )


def needs_probe(path: Path) -> bool:
    """Whether `path` (this size, this modification time) was never checked here."""
    key = _key(path)
    with _LOCK:
        return not _load_cache().get(key)


def ensure_loadable(path: Path, cancel: threading.Event | None = None) -> None:
    """Raise ModelFileError when loading `path` would fail or crash llama.cpp;
    LoadCancelled (the child stopped) when `cancel` is set meanwhile."""
    key = _key(path)
    with _LOCK:
        if _load_cache().get(key):
            return
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    with subprocess.Popen(
        probe_command(path),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=env,
    ) as child:
        stderr: list[str] = []
        reader = threading.Thread(
            target=lambda: stderr.append(child.stderr.read() if child.stderr else ""),
            daemon=True,
        )
        reader.start()
        try:
            _wait_for(child, path, cancel)
        finally:
            reader.join()
    done = subprocess.CompletedProcess(child.args, child.returncode, "", "".join(stderr))
    if done.returncode == 0:
        _remember(key)
        return
    lines = [line.strip() for line in done.stderr.splitlines() if line.strip()]
    prefix = "llm-playground: error: "
    errors = [line.removeprefix(prefix) for line in lines if line.startswith(prefix)]
    if errors:
        raise ModelFileError(errors[-1])
    raise ModelFileError(f"{path.name}: {_crash_reason(done.returncode, lines)}")


def _crash_reason(code: int, lines: list[str]) -> str:
    what = ""
    for index, line in enumerate(lines):
        if line.startswith("terminate called"):
            detail = lines[index + 1] if index + 1 < len(lines) else ""
            what = f" ({line.removeprefix('terminate called after throwing an instance of ')}"
            what += f": {detail.removeprefix('what():').strip()})" if detail else ")"
            break
        if "GGML_ASSERT" in line or "error:" in line.lower():
            what = f" ({line[:160]})"
    signal_name = ""
    if code < 0:
        try:
            signal_name = signal.Signals(-code).name
        except ValueError:
            signal_name = f"signal {-code}"
    how = f"crashed with {signal_name}" if signal_name else f"exited with status {code}"
    return (
        f"llama.cpp {how} while reading this file{what}; the file is damaged or uses a "
        "format this build of llama.cpp cannot read"
    )
