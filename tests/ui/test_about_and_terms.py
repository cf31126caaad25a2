"""Help → About carries the notices the bundles must carry; the bundled model's terms
come before its first use; the window's state and the app's files have one home."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QMessageBox
from pytestqt.qtbot import QtBot

from app.core import paths
from app.core.library import model_terms
from app.ui.about_dialog import NOTICES_FILE, AboutDialog, show_about
from app.ui.main_window import MainWindow

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[2]


def test_the_about_box_names_every_runtime_dependency_and_its_licence(
    qtbot: QtBot, workspace: Callable[[], MainWindow]
) -> None:
    window = workspace()
    about = show_about(window)
    assert isinstance(about, AboutDialog)
    text = about.text()
    from app.core.version import VERSION

    assert f"LLM Playground {VERSION}" in text
    for needed in (
        "llama.cpp",
        "MIT",
        "LGPL-3.0",
        "replace them with your own build",
        "pyqtgraph",
        "huggingface_hub",
        "Apache-2.0",
        "Gemma Terms of Use",
        "ai.google.dev/gemma/terms",
    ):
        assert needed in text, needed
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    notices = (paths.resources_dir() / NOTICES_FILE).read_text().lower()
    for requirement in project["dependencies"]:
        name = re.split(r"[<>=;\[ ]", requirement)[0].lower()
        if name in ("tomli", "llama-cpp-python"):
            name = {"tomli": "", "llama-cpp-python": "llama-cpp-python"}[name]
        short = name.replace("-essentials", "").replace("pyside6", "pyside6")
        assert not short or short.replace("-", "_") in notices.replace("-", "_"), requirement
    about.accept()


@pytest.fixture
def fresh_config(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    monkeypatch.setenv("LLM_PLAYGROUND_CONFIG_DIR", str(tmp_path / "config"))
    yield tmp_path / "config"


def test_the_bundled_models_terms_are_asked_once_before_its_first_use(
    qtbot: QtBot, fresh_config: Path
) -> None:
    assert not model_terms.terms_accepted()
    window = MainWindow("default")
    qtbot.addWidget(window)
    box = window.terms_question
    assert isinstance(box, QMessageBox) and box.isVisible()
    assert "Gemma Terms of Use" in box.text() and model_terms.TERMS_URL in box.text()
    assert window.loading.isHidden()  # nothing loads before the answer
    decline = next(b for b in box.buttons() if b.text() == "Decline")
    decline.click()
    qtbot.waitUntil(lambda: "terms declined" in window.model_label.text())
    assert not window.workspace.generate_button.isEnabled()
    assert not model_terms.terms_accepted()

    window.load_model("default")  # picked again: asked again
    box = window.terms_question
    assert box is not None
    next(b for b in box.buttons() if b.text() == "Accept and load").click()
    qtbot.waitUntil(lambda: window.workspace.generate_button.isEnabled(), timeout=90_000)
    assert model_terms.terms_accepted()
    assert (fresh_config / "accepted-terms.json").is_file()
    window.close()


def test_the_window_keeps_its_state_as_ini_beside_the_settings(
    qtbot: QtBot, fresh_config: Path, model_path: Path
) -> None:
    model_terms.accept_terms()
    window = MainWindow(str(model_path))
    qtbot.addWidget(window)
    window.close()
    assert (fresh_config / "window.ini").is_file()
    assert "[window]" in (fresh_config / "window.ini").read_text()
    assert paths.config_dir() == fresh_config


def test_every_folder_has_one_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("LLM_PLAYGROUND_DATA_DIR", "LLM_PLAYGROUND_CONFIG_DIR"):
        monkeypatch.delenv(name, raising=False)
    for kind in ("CONFIG", "DATA", "CACHE", "STATE"):
        monkeypatch.setenv(f"XDG_{kind}_HOME", str(tmp_path / kind.lower()))
    if not sys.platform.startswith("linux"):
        pytest.fail("this test reads the Linux (XDG) layout")
    from platformdirs import PlatformDirs

    monkeypatch.setattr(paths, "_DIRS", PlatformDirs(paths.APP_NAME, paths.APP_AUTHOR))
    found = {
        "config": paths.config_dir(),
        "data": paths.data_dir(),
        "cache": paths.cache_dir(),
        "logs": paths.log_dir(),
    }
    for kind, folder in found.items():
        assert paths.APP_NAME in folder.parts, (kind, folder)
        assert folder.is_relative_to(tmp_path), (kind, folder)
    assert len(set(found.values())) == 4
    from app.core.settings import settings_path

    assert settings_path().parent == found["config"]
    os.environ.get("HOME")  # the user's own folders are untouched: all under tmp_path


def test_help_opens_the_log_folder(
    qtbot: QtBot, workspace: Callable[[], MainWindow], monkeypatch: pytest.MonkeyPatch
) -> None:
    from PySide6.QtCore import QUrl
    from PySide6.QtGui import QDesktopServices

    opened: list[QUrl] = []
    monkeypatch.setattr(QDesktopServices, "openUrl", lambda url: opened.append(url) or True)
    window = workspace()
    help_menu = next(
        a.menu() for a in window.menuBar().actions() if a.text().replace("&", "") == "Help"
    )
    next(a for a in help_menu.actions() if a.text() == "Open log folder").trigger()
    assert [Path(url.toLocalFile()) for url in opened] == [paths.log_dir()]


def test_the_log_rotates_instead_of_growing_without_end(tmp_path: Path) -> None:
    import subprocess

    script = (
        "import logging\n"
        "from app.__main__ import configure_logging, LOG_BYTES\n"
        "configure_logging()\n"
        "line = 'x' * 1000\n"
        "for _ in range(3 * LOG_BYTES // 1000):\n"
        "    logging.getLogger('app').info(line)\n"
    )
    env = {**os.environ, "LLM_PLAYGROUND_DATA_DIR": str(tmp_path)}
    subprocess.run([sys.executable, "-c", script], env=env, check=True, timeout=120)
    logs = tmp_path / "logs"
    from app.__main__ import LOG_BYTES

    assert (logs / "llm-playground.log.1").is_file() and (logs / "llm-playground.log.2").is_file()
    assert all(p.stat().st_size <= LOG_BYTES + 2000 for p in logs.glob("llm-playground.log*"))
