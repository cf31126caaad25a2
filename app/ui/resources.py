"""Files under the repository's (or the frozen bundle's) resources/ folder."""

from __future__ import annotations

import sys
from pathlib import Path

from PySide6.QtGui import QIcon

ICON_SIZES = (16, 32, 48, 64, 128, 256, 512)


def resources_dir() -> Path:
    """resources/ beside the package, or inside a PyInstaller bundle."""
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle is not None:
        return Path(bundle) / "resources"
    return Path(__file__).resolve().parents[2] / "resources"


def app_icon() -> QIcon:
    icon = QIcon()
    icons = resources_dir() / "icons"
    for size in ICON_SIZES:
        path = icons / f"llm-playground-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    return icon
