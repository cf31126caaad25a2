"""Where the app keeps its files (platformdirs locations; they survive reinstalling)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from platformdirs import PlatformDirs

from app.core.errors import PlaygroundError

APP_NAME = "llm-playground"
APP_AUTHOR = "LLMPlayground"

_DIRS = PlatformDirs(APP_NAME, APP_AUTHOR)


class DataFolderError(PlaygroundError):
    """The app's data or log folder cannot be created or written."""


def data_dir() -> Path:
    """Downloaded and assembled models live under here.

    `LLM_PLAYGROUND_DATA_DIR` overrides it (tests, portable installs).
    """
    override = os.environ.get("LLM_PLAYGROUND_DATA_DIR")
    return _folder(Path(override) if override else Path(_DIRS.user_data_dir))


def models_dir() -> Path:
    return _folder(data_dir() / "models")


def log_dir() -> Path:
    override = os.environ.get("LLM_PLAYGROUND_DATA_DIR")
    return _folder(Path(override) / "logs" if override else Path(_DIRS.user_log_dir))


def _folder(path: Path) -> Path:
    """`path`, created if needed; a folder that cannot be is a clear error, not a crash."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        if not path.is_dir():
            raise NotADirectoryError(20, "not a folder")
    except OSError as exc:
        raise DataFolderError(
            f"the data folder {path} cannot be used ({exc.strerror or exc}); set "
            "LLM_PLAYGROUND_DATA_DIR to a folder you can write to"
        ) from None
    return path


def install_root() -> Path:
    """Where resources/ and models/ are: inside a PyInstaller bundle, or the checkout."""
    bundle = getattr(sys, "_MEIPASS", None)
    return Path(bundle) if bundle is not None else Path(__file__).resolve().parents[2]


def resources_dir() -> Path:
    return install_root() / "resources"


def llama_tool(name: str, override_variable: str) -> Path | None:
    """A llama.cpp program built from the bindings' own source (llama-server,
    ggml-rpc-server): $override_variable, beside the frozen app, on PATH, or the build
    cache of packaging/build_llama_server.sh for the installed bindings. None if absent."""
    import shutil
    from importlib.metadata import PackageNotFoundError, version

    override = os.environ.get(override_variable)
    candidates = [Path(override)] if override else []
    if getattr(sys, "frozen", False):  # the bundle carries it beside its libraries
        candidates.append(Path(getattr(sys, "_MEIPASS", Path(sys.executable).parent)) / name)
    found = shutil.which(name)
    if found:
        candidates.append(Path(found))
    try:
        bindings = version("llama_cpp_python")
    except PackageNotFoundError:
        bindings = ""
    if bindings:
        cache = os.environ.get("LLM_PLAYGROUND_SERVER_CACHE") or str(
            Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "llm-playground"
        )
        candidates.extend(sorted(Path(cache).glob(f"llama-server-{bindings}-*/{name}")))
    for candidate in candidates:
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    return None
