"""Keeping the app alive when llama.cpp gives up on an RPC worker.

llama.cpp's RPC client aborts the process when a worker dies mid-run (GGML_ABORT, "Remote
RPC server crashed or returned malformed response"); it calls the abort callback first.
The app runs every call that may reach a worker on a thread of its own (`run_guarded`);
the handler installed by `install` records the message for that thread and then never
returns, so abort() is never reached: that thread stays parked, the model it held is
lost, and the caller gets EngineLost and carries on (the run ends with the message; the
model can be loaded again without the worker). The parked thread is a daemon: it does
not keep the app from quitting.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, TypeVar

from app.core.errors import PlaygroundError
from app.core.llama.llama_runtime import set_abort_handler

T = TypeVar("T")
# llama.cpp's messages, in order. The thread that aborts may be one of ggml's own (its
# compute threads) rather than the guarded one, so a guarded call watches for any new one.
_lost: list[str] = []
_lock = threading.Lock()


class EngineLost(PlaygroundError):
    """llama.cpp stopped inside a call (an RPC worker gone); its model cannot be used."""


def _park(message: str) -> None:
    with _lock:
        _lost.append(message)
    # Python joins every ThreadPoolExecutor thread when it exits, and the decode thread
    # waiting on this one never ends: forget them all (concurrent.futures keeps them in
    # _threads_queues), or quitting would hang. They are daemon threads.
    import concurrent.futures.thread as pool_threads

    queues: Any = pool_threads._threads_queues
    queues.clear()
    threading.Event().wait()  # never returns: abort() would follow


def install() -> None:
    """From now on an abort parks its thread instead of ending the process."""
    set_abort_handler(_park)


def run_guarded(call: Callable[[], T], what: str) -> T:
    """`call()` on a thread of its own; EngineLost when llama.cpp gave up inside it."""
    done = threading.Event()
    box: dict[str, object] = {}

    def target() -> None:
        try:
            box["value"] = call()
        except BaseException as exc:  # handed to the caller as it is
            box["error"] = exc
        finally:
            done.set()

    with _lock:
        seen = len(_lost)
    thread = threading.Thread(target=target, name=f"guarded {what}", daemon=True)
    thread.start()
    while not done.wait(0.05):
        with _lock:
            message = _lost[seen] if len(_lost) > seen else None
        if message is not None:
            raise EngineLost(f"{what} stopped: {message}")
    if "error" in box:
        raise box["error"]  # type: ignore[misc]
    return box["value"]  # type: ignore[return-value]
