"""Where the app keeps its files (platformdirs locations; they survive reinstalling)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import PlatformDirs

APP_NAME = "llm-playground"
APP_AUTHOR = "LLMPlayground"

_DIRS = PlatformDirs(APP_NAME, APP_AUTHOR)


def data_dir() -> Path:
    """Downloaded and assembled models live under here.

    `LLM_PLAYGROUND_DATA_DIR` overrides it (tests, portable installs).
    """
    override = os.environ.get("LLM_PLAYGROUND_DATA_DIR")
    path = Path(override) if override else Path(_DIRS.user_data_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def models_dir() -> Path:
    path = data_dir() / "models"
    path.mkdir(parents=True, exist_ok=True)
    return path


def log_dir() -> Path:
    override = os.environ.get("LLM_PLAYGROUND_DATA_DIR")
    path = Path(override) / "logs" if override else Path(_DIRS.user_log_dir)
    path.mkdir(parents=True, exist_ok=True)
    return path


def install_root() -> Path:
    """Where resources/ and models/ are: inside a PyInstaller bundle, or the checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle is not None else Path(__file__).resolve().parents[2]


def resources_dir() -> Path:
    return install_root() / "resources"
