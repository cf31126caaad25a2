"""What loading a model reports while it runs, and how it is cancelled.

Three stages: checking a file never opened before in a child process (load_probe), reading
the weights (llama.cpp's `progress_callback`, a fraction), creating the context. Each
stage is announced; a cancel is honoured between stages, while the child runs and inside
llama.cpp's loader (the callback answers false, and llama.cpp stops reading).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field

from app.core.errors import PlaygroundError

Report = Callable[[str, float | None], None]
"""(what is happening, fraction done or None when unknown)."""


class LoadCancelled(PlaygroundError):
    """The user cancelled loading; whatever was loaded before stays."""


@dataclass
class LoadProgress:
    report: Report
    cancel: threading.Event = field(default_factory=threading.Event)
    _last: float = -1.0

    def stage(self, text: str, fraction: float | None = None) -> None:
        self.check()
        self._last = -1.0
        self.report(text, fraction)

    def check(self) -> None:
        if self.cancel.is_set():
            raise LoadCancelled("loading was cancelled")

    def weights(self, fraction: float) -> bool:
        """llama.cpp's progress callback: report each whole percent; False stops the load.
        Runs inside llama.cpp on the loading thread, so it must never raise."""
        try:
            if fraction - self._last >= 0.01 or fraction >= 1.0:
                self._last = fraction
                self.report("Loading the weights", min(1.0, max(0.0, fraction)))
        except Exception:
            pass
        return not self.cancel.is_set()
