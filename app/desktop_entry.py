"""Linux desktop integration: `--install-desktop` / `--uninstall-desktop`.

Writes a freedesktop entry (`<app id>.desktop`), the hicolor icons and a MIME type for
.gguf files under the user's data directory (XDG_DATA_HOME, ~/.local/share by default),
so the app is in the menu, starts by double-click and opens .gguf files. What was written
is recorded in a manifest, and uninstalling removes exactly that.
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

from app.core import paths
from app.core.state_file import read_state

APP_ID = "io.github.llm_playground.LLMPlayground"
ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)
MANIFEST = "desktop-install.json"
MIME_XML = """<?xml version="1.0" encoding="UTF-8"?>
<mime-info xmlns="http://www.freedesktop.org/standards/shared-mime-info">
  <mime-type type="application/x-gguf">
    <comment>GGUF language model</comment>
    <magic priority="60"><match type="string" offset="0" value="GGUF"/></magic>
    <glob pattern="*.gguf"/>
  </mime-type>
</mime-info>
"""


def data_home() -> Path:
    value = os.environ.get("XDG_DATA_HOME", "")
    return Path(value) if value and os.path.isabs(value) else Path.home() / ".local" / "share"


def launcher() -> list[str]:
    """The command that starts this installation of the app."""
    if getattr(sys, "frozen", False):
        return [str(Path(sys.executable).resolve())]
    script = Path(sys.executable).with_name("llm-playground")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script.absolute())]
    return [str(Path(sys.executable).absolute()), "-m", "app"]


def _exec_line(command: list[str]) -> str:
    """Quoted as the Desktop Entry spec wants (double quotes; `%` doubled)."""
    parts = []
    for arg in command:
        arg = arg.replace("%", "%%")
        if any(c in arg for c in " \t\n\"'\\><~|&;$*?#()`"):
            escaped = arg.replace("\\", "\\\\").replace('"', '\\"')
            escaped = escaped.replace("`", "\\`").replace("$", "\\$")
            arg = f'"{escaped}"'
        parts.append(arg)
    return " ".join(parts)


def desktop_entry_text(command: list[str]) -> str:
    template = (paths.resources_dir() / "llm-playground.desktop.in").read_text(encoding="utf-8")
    return template.replace("@EXEC@", _exec_line(command)).replace("@APP_ID@", APP_ID)


def _manifest_path(root: Path) -> Path:
    return root / "llm-playground" / MANIFEST


def install(root: Path | None = None, command: list[str] | None = None) -> list[Path]:
    """Write the entry, icons and MIME type; returns the files written."""
    root = root or data_home()
    icons = paths.resources_dir() / "icons"
    plan: list[tuple[Path, bytes]] = [
        (
            root / "applications" / f"{APP_ID}.desktop",
            desktop_entry_text(command or launcher()).encode(),
        ),
        (root / "mime" / "packages" / f"{APP_ID}.xml", MIME_XML.encode()),
        (
            root / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg",
            (icons / "llm-playground.svg").read_bytes(),
        ),
    ]
    for size in ICON_SIZES:
        source = icons / f"llm-playground-{size}.png"
        target = root / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png"
        plan.append((target, source.read_bytes()))
    uninstall(root)  # a reinstall replaces an earlier one exactly
    written: list[Path] = []
    created: list[Path] = []
    for target, data in plan:
        for parent in reversed(target.parents):
            if parent.is_relative_to(root) and parent != root and not parent.exists():
                parent.mkdir()
                created.append(parent)
        target.write_bytes(data)
        written.append(target)
    manifest = _manifest_path(root)
    if not manifest.parent.exists():
        manifest.parent.mkdir(parents=True)
        created.append(manifest.parent)
    manifest.write_text(
        json.dumps(
            {"files": [str(p) for p in written], "folders": [str(p) for p in created]},
            indent=1,
        ),
        encoding="utf-8",
    )
    _refresh_caches(root)
    return written


def uninstall(root: Path | None = None) -> list[Path]:
    """Remove what `install` wrote (and the folders it created, once empty)."""
    root = root or data_home()
    manifest = _manifest_path(root)
    recorded = read_state(manifest)
    if not isinstance(recorded, dict):
        return []
    removed = []
    for name in recorded.get("files", []):
        path = Path(name)
        if path.is_relative_to(root) and path.is_file():
            path.unlink()
            removed.append(path)
    manifest.unlink()
    _refresh_caches(root)
    for name in sorted(recorded.get("folders", []), key=len, reverse=True):
        folder = Path(name)
        if folder.is_relative_to(root) and folder.is_dir():
            _remove_generated(folder, root)
            with contextlib.suppress(OSError):  # something else lives there now
                folder.rmdir()
    return removed


def _remove_generated(folder: Path, root: Path) -> None:
    """Caches the desktop tools generated from our files, in folders we created."""
    if folder == root / "mime":
        packages = folder / "packages"
        if not packages.exists() or not any(packages.iterdir()):
            shutil.rmtree(folder)  # only update-mime-database's output is left
        return
    if folder == root / "applications":
        names = {p.name for p in folder.iterdir()}
        if names == {"mimeinfo.cache"}:
            (folder / "mimeinfo.cache").unlink()


def _refresh_caches(root: Path) -> None:
    """Let the desktop notice at once (best effort: these tools are optional)."""
    hicolor = root / "icons" / "hicolor"
    commands = [
        ["update-desktop-database", "-q", str(root / "applications")],
        ["update-mime-database", str(root / "mime")],
    ]
    if (hicolor / "icon-theme.cache").exists():  # a stale cache would hide new icons
        commands.append(["gtk-update-icon-cache", "-q", "-t", "-f", str(hicolor)])
    for command in commands:
        if shutil.which(command[0]) and Path(command[-1]).is_dir():
            subprocess.run(command, capture_output=True, check=False, timeout=30)


def exec_command(entry: Path) -> list[str]:
    """The Exec line of a .desktop file, split into arguments, field codes removed."""
    for line in entry.read_text(encoding="utf-8").splitlines():
        if line.startswith("Exec="):
            words = shlex.split(line.removeprefix("Exec=").replace("%%", "\x00"))
            return [w.replace("\x00", "%") for w in words if not w.startswith("%")]
    raise ValueError(f"{entry}: no Exec line")
