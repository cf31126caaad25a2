"""Start the GUI: the window appears first, the model loads on the engine thread."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

APP_ID = "io.github.llm_playground.LLMPlayground"


def run_gui(argv: Sequence[str]) -> int:
    parser = argparse.ArgumentParser(prog="llm-playground")
    parser.add_argument("--model", default="default", help="a GGUF path or 'default'")
    args, qt_args = parser.parse_known_args(list(argv))

    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow
    from app.ui.resources import app_icon

    app = QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("LLM Playground")
    app.setOrganizationName("LLMPlayground")
    QGuiApplication.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    window = MainWindow(args.model)
    window.show()
    return app.exec()
