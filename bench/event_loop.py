"""Event-loop helpers shared by the GUI benchmarks (run from the repository root as
`python bench/<name>.py`, which puts this folder on the import path)."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QElapsedTimer, QEventLoop, QTimer

HEARTBEAT_MS = 5


def run_until(condition: Callable[[], bool], timeout: float = 300.0, poll_ms: int = 20) -> None:
    """Run the event loop (as app.exec() would) until `condition` holds."""
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: loop.quit() if condition() else None)
    poll.start(poll_ms)
    deadline = QTimer()
    deadline.setSingleShot(True)
    deadline.timeout.connect(loop.quit)
    deadline.start(int(timeout * 1000))
    if not condition():
        loop.exec()
    poll.stop()
    if not condition():
        raise SystemExit("timed out")


class Heartbeat:
    """A timer every HEARTBEAT_MS; `stalls` collects how late each tick came (ms)."""

    def __init__(self) -> None:
        self.stalls: list[float] = []
        self._clock = QElapsedTimer()
        self._timer = QTimer()
        self._timer.setInterval(HEARTBEAT_MS)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        if self._clock.isValid():
            self.stalls.append(max(0.0, self._clock.nsecsElapsed() / 1e6 - HEARTBEAT_MS))
        self._clock.restart()

    def start(self) -> None:
        self._clock.invalidate()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()
