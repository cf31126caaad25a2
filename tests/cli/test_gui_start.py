"""Starting the window where it cannot open, or with a mistyped command: one line on
stderr that names the cause, never a silent abort."""

from __future__ import annotations

import os
import subprocess
import sys

from app.ui.display_check import display_problem, missing_from_ldd, packages_for

LDD_OUTPUT = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f)
"""


def _start(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=120, env=env
    )


def test_missing_libraries_are_named_with_their_packages() -> None:
    missing = missing_from_ldd(LDD_OUTPUT)
    assert missing == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1"]
    assert packages_for(missing) == ["libxcb-icccm4", "libxcb-keysyms1"]


def test_no_display_is_one_line_not_an_abort() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    assert display_problem(env) is not None
    out = _start(env=env)
    assert out.returncode == 1, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert "no display" in lines[0] and "DISPLAY" in lines[0]
    assert "log: " in lines[0] and "llm-playground.log" in lines[0]


def test_offscreen_needs_no_display() -> None:
    assert display_problem({"QT_QPA_PLATFORM": "offscreen"}) is None


def test_a_mistyped_command_is_not_opened_as_a_file() -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    for args in (["scroe", "--model", "default"], ["bogus"]):
        out = _start(*args, env=env)
        assert out.returncode == 2, out.stderr
        lines = out.stderr.strip().splitlines()
        assert len(lines) == 1, out.stderr
        assert f"unknown command or file '{args[0]}'" in lines[0]
        assert "generate" in lines[0] and "tokenize" in lines[0]
        assert "_probe" not in lines[0]
