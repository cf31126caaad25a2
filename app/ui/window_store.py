"""Where the window keeps its state (geometry, recent models, the last server address):
an INI file in the app's config folder, beside settings.json, on every platform."""

from __future__ import annotations

from PySide6.QtCore import QSettings

from app.core import paths
from app.core.errors import PlaygroundError

WINDOW_STATE_FILE = "window.ini"


def window_store() -> QSettings:
    try:
        folder = paths.config_dir()
    except PlaygroundError:  # an unusable config folder: the state lives for this run only
        return QSettings(QSettings.Format.IniFormat, QSettings.Scope.UserScope, "llm-playground")
    return QSettings(str(folder / WINDOW_STATE_FILE), QSettings.Format.IniFormat)
