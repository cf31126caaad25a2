"""Where the app keeps its files: one platformdirs root per kind (config, data, cache,
logs), all under the same app name, so they survive reinstalling and are easy to find.

`LLM_PLAYGROUND_DATA_DIR` puts data, cache and logs under one folder (tests, portable
installs); `LLM_PLAYGROUND_CONFIG_DIR` does the same for the configuration.
"""

from __future__ import annotations

import os
import sys
from importlib import resources
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


def cache_dir() -> Path:
    """What can be rebuilt: hashes of model files, which files load."""
    override = os.environ.get("LLM_PLAYGROUND_DATA_DIR")
    return _folder(Path(override) / "cache" if override else Path(_DIRS.user_cache_dir))


def config_dir() -> Path:
    """Settings and the window's state (QSettings, as an INI file)."""
    override = os.environ.get("LLM_PLAYGROUND_CONFIG_DIR")
    return _folder(Path(override) if override else Path(_DIRS.user_config_dir))


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


PACKAGED_DATA = "_data"


def install_root() -> Path:
    """The folder holding resources/ and models/catalog.toml.

    An installed wheel and the frozen bundle carry them inside the package, as
    app/_data/ (setup.py copies the checkout's top-level folders there when it builds),
    read through importlib.resources; a checkout (an editable install) uses its own
    top-level folders, their source.
    """
    packaged = resources.files("app") / PACKAGED_DATA
    if isinstance(packaged, Path) and packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2]


def resources_dir() -> Path:
    return install_root() / "resources"


def catalog_file() -> Path:
    return install_root() / "models" / "catalog.toml"


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
