"""The app's version, as the installed package's metadata gives it."""

from __future__ import annotations


def app_version() -> str:
    try:
        from importlib.metadata import version

        return version("llm-playground")
    except Exception:  # a bundle without metadata, or a checkout never installed
        return "unknown version"
