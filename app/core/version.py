"""The app's version: set here, and only here.

pyproject.toml reads it (`[tool.setuptools.dynamic]`), the frozen bundle's metadata and
`--version`, the About box and the log's first line show it.
"""

from __future__ import annotations

VERSION = "0.2.0"


def app_version() -> str:
    return VERSION
