"""Before Qt starts: can it open a window here? If not, say why in one line.

Without a display, or without a system library its xcb platform plugin links to (on a
fresh Debian 12: libxcb-icccm4, libxcb-keysyms1, libxcb-cursor0…), Qt aborts the process
(exit 134) and its reason reaches only the log. This module finds the cause first, with
`ldd` on the plugin (it lists every missing library, not only the first), and names the
packages that provide them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

# The libraries Qt's xcb plugin and its Gui library need, with the Debian/Ubuntu packages
# that provide them (packaging/system-deps.sh installs the same list).
DEBIAN_PACKAGES = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb.so.1": "libxcb1",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libX11.so.6": "libx11-6",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libEGL.so.1": "libegl1",
    "libGL.so.1": "libgl1",
    "libOpenGL.so.0": "libopengl0",
    "libGLX.so.0": "libglx0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
}
# Platforms that draw without a display server.
HEADLESS_PLATFORMS = {"offscreen", "minimal", "vnc", "eglfs", "linuxfb", "minimalegl"}

_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found", re.MULTILINE)


def missing_from_ldd(output: str) -> list[str]:
    """The libraries `ldd` reports as not found, in its order, each once."""
    return list(dict.fromkeys(_NOT_FOUND.findall(output)))


def packages_for(libraries: list[str]) -> list[str]:
    return list(
        dict.fromkeys(DEBIAN_PACKAGES[name] for name in libraries if name in DEBIAN_PACKAGES)
    )


def _xcb_plugin() -> Path | None:
    from PySide6.QtCore import QLibraryInfo  # loads QtCore only: no platform plugin yet

    folder = Path(QLibraryInfo.path(QLibraryInfo.LibraryPath.PluginsPath)) / "platforms"
    plugin = folder / "libqxcb.so"
    return plugin if plugin.is_file() else None


def missing_xcb_libraries() -> list[str]:
    plugin = _xcb_plugin()
    ldd = shutil.which("ldd")
    if plugin is None or ldd is None:
        return []
    try:
        done = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.SubprocessError):
        return []
    return missing_from_ldd(done.stdout)


def _platform(env: Mapping[str, str]) -> str:
    """The platform QT_QPA_PLATFORM asks for, without its options ("offscreen:size=…";
    a ";"-separated list is tried in order: its first)."""
    return env.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()


def _uses_xcb(env: Mapping[str, str]) -> bool:
    platform = _platform(env)
    if platform:
        return platform == "xcb"
    # Qt picks Wayland in a Wayland session and falls back to xcb.
    return not env.get("WAYLAND_DISPLAY")


def display_problem(env: Mapping[str, str] | None = None) -> str | None:
    """Why Qt could not open a window here (one sentence with what to do), or None."""
    env = os.environ if env is None else env
    if not sys.platform.startswith("linux"):
        return None
    if _platform(env) in HEADLESS_PLATFORMS:
        return None
    if not env.get("DISPLAY") and not env.get("WAYLAND_DISPLAY"):
        return (
            "no display to open the window on (neither DISPLAY nor WAYLAND_DISPLAY is set); "
            "run it in a desktop session, or use a subcommand (llm-playground --help)"
        )
    if not _uses_xcb(env):
        return None
    missing = missing_xcb_libraries()
    if not missing:
        return None
    packages = packages_for(missing)
    install = (
        f"install them with: sudo apt install {' '.join(packages)} "
        "(or run packaging/system-deps.sh)"
        if packages
        else "install them with your package manager"
    )
    names = ", ".join(missing)
    return f"Qt's X11 platform needs system libraries that are missing: {names}; {install}"
