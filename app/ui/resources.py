"""Files under the repository's (or the frozen bundle's) resources/ folder."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from app.core import paths
from app.desktop_entry import ICON_SIZES


def app_icon() -> QIcon:
    icon = QIcon()
    icons = paths.resources_dir() / "icons"
    for size in ICON_SIZES:
        path = icons / f"llm-playground-{size}.png"
        if path.is_file():
            icon.addFile(str(path))
    return icon
