"""The Qt bindings deliver signals without corrupting Python's reference counts.

PySide6 6.12.0 dropped a reference to True on every signal delivered to a Python slot;
after a few thousand (a minute of generating) the interpreter aborts. pyproject.toml
excludes it; this catches any version that does the same.
"""

from __future__ import annotations

import sys

from PySide6.QtCore import QObject, Signal


class _Emitter(QObject):
    with_object = Signal(object)
    with_int = Signal(int)
    bare = Signal()


def test_signals_to_python_slots_keep_reference_counts() -> None:
    emitter = _Emitter()
    received: list[object] = []
    emitter.with_object.connect(received.append)
    emitter.with_int.connect(received.append)
    emitter.bare.connect(lambda: received.append(None))
    before = sys.getrefcount(True), sys.getrefcount(False)
    for i in range(200):
        emitter.with_object.emit(emitter)
        emitter.with_int.emit(i)
        emitter.bare.emit()
    after = sys.getrefcount(True), sys.getrefcount(False)
    assert len(received) == 600
    assert after == before
