"""`--install-desktop` writes a valid entry whose Exec line starts the app; uninstalling
leaves nothing behind."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from app.desktop_entry import APP_ID, exec_command


def _files(root: Path) -> list[Path]:
    return sorted(p for p in root.rglob("*"))


def test_install_validate_start_and_uninstall(tmp_path: Path) -> None:
    home = tmp_path / "home"
    share = home / ".local" / "share"
    share.mkdir(parents=True)
    env = {**os.environ, "HOME": str(home), "XDG_DATA_HOME": str(share)}
    launcher = Path(sys.executable).with_name("llm-playground")
    assert launcher.is_file(), "the gui-script is installed with the package"

    installed = subprocess.run(
        [str(launcher), "--install-desktop"], env=env, capture_output=True, text=True, timeout=60
    )
    assert installed.returncode == 0, installed.stderr
    entry = share / "applications" / f"{APP_ID}.desktop"
    assert entry.is_file()
    for size in (16, 48, 256, 512):
        assert (share / "icons" / "hicolor" / f"{size}x{size}" / "apps" / f"{APP_ID}.png").is_file()
    assert (share / "icons" / "hicolor" / "scalable" / "apps" / f"{APP_ID}.svg").is_file()
    validated = subprocess.run(
        ["desktop-file-validate", str(entry)], capture_output=True, text=True, timeout=30
    )
    assert validated.returncode == 0 and not validated.stdout.strip(), validated.stdout
    text = entry.read_text(encoding="utf-8")
    assert f"Icon={APP_ID}" in text and "StartupWMClass=" in text
    assert "Categories=Education;" in text

    command = exec_command(entry)
    assert command[0] == str(launcher)
    started = subprocess.run(
        [*command, "--smoke-test"],
        env={**env, "QT_QPA_PLATFORM": "offscreen"},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert started.returncode == 0, started.stderr
    assert started.stdout.startswith("smoke test passed: ") and "8 tokens" in started.stdout
    assert started.stderr == ""

    removed = subprocess.run(
        [str(launcher), "--uninstall-desktop"], env=env, capture_output=True, text=True
    )
    assert removed.returncode == 0, removed.stderr
    assert _files(share) == []
