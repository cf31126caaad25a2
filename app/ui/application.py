"""Start the GUI: the window appears first, the model loads on the engine thread."""

from __future__ import annotations

import argparse
import logging
import os
import sys
from collections.abc import Sequence

from app.core.version import VERSION
from app.desktop_entry import APP_ID

log = logging.getLogger("qt")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="llm-playground",
        description="See how a language model writes. Subcommands (generate, tokenize, bpe, "
        "info, models) run headless; see `llm-playground generate --help`.",
    )
    parser.add_argument("--version", action="version", version=f"llm-playground {VERSION}")
    parser.add_argument("model_file", nargs="?", help="a .gguf file to open")
    parser.add_argument("--model", default=None, help="a GGUF path or 'default'")
    parser.add_argument(
        "--install-desktop",
        action="store_true",
        help="add the app to the desktop menu (Linux: .desktop entry, icons, .gguf type)",
    )
    parser.add_argument(
        "--uninstall-desktop", action="store_true", help="remove what --install-desktop wrote"
    )
    parser.add_argument(
        "--smoke-test",
        action="store_true",
        help="open the window offscreen, generate 8 tokens with the default model, exit",
    )
    return parser


def _route_qt_messages() -> None:
    """Qt's warnings go to the log file, not the terminal (a windowed app has none)."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }

    def handler(kind: QtMsgType, _context: object, message: str) -> None:
        log.log(levels.get(kind, logging.WARNING), "%s", message)
        if kind == QtMsgType.QtFatalMsg and sys.__stderr__ is not None:
            # Qt aborts the process after this message: it must not reach the log only.
            first = message.strip().splitlines()[0] if message.strip() else "fatal error"
            sys.__stderr__.write(f"llm-playground: Qt: {first} (log: {_log_path()})\n")
            sys.__stderr__.flush()

    qInstallMessageHandler(handler)


def _log_path() -> str:
    from app.core import paths

    return str(paths.log_dir() / "llm-playground.log")


def run_gui(argv: Sequence[str], commands: Sequence[str] = ()) -> int:
    args, qt_args = _parser().parse_known_args(list(argv))
    if args.model_file is not None and not os.path.isfile(args.model_file):
        known = ", ".join(c for c in commands if not c.startswith("_"))
        sys.stderr.write(
            f"llm-playground: error: unknown command or file '{args.model_file}' "
            f"(commands: {known}; a .gguf file opens in the window; see --help)\n"
        )
        return 2
    if args.install_desktop or args.uninstall_desktop:
        from app import desktop_entry

        if args.uninstall_desktop:
            removed = desktop_entry.uninstall()
            print(f"removed {len(removed)} files" if removed else "nothing was installed")
        else:
            written = desktop_entry.install()
            print(f"installed the desktop entry: {written[0]}")
        return 0
    if args.smoke_test:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from app.core.errors import PlaygroundError
    from app.core.paths import models_dir
    from app.ui.display_check import display_problem

    try:
        models_dir()
    except PlaygroundError as exc:
        sys.stderr.write(f"llm-playground: error: {exc}\n")
        return 2
    problem = display_problem()
    if problem is not None:
        log.error("cannot open the window: %s", problem)
        sys.stderr.write(
            f"llm-playground: cannot open the window: {problem} (log: {_log_path()})\n"
        )
        return 1

    from PySide6.QtGui import QGuiApplication
    from PySide6.QtWidgets import QApplication

    from app.ui.main_window import MainWindow
    from app.ui.resources import app_icon

    _route_qt_messages()
    app = QApplication([sys.argv[0], *qt_args])
    app.setApplicationName("LLM Playground")
    app.setOrganizationName("LLMPlayground")
    app.setApplicationVersion(VERSION)
    QGuiApplication.setDesktopFileName(APP_ID)
    app.setWindowIcon(app_icon())
    spec = "default" if args.smoke_test else args.model or args.model_file or "default"
    from app.core.llama import abort_guard

    abort_guard.install()  # an RPC worker failing inside llama.cpp ends a run, not the app
    from app.ui.widgets.theme import watch_theme

    watch_theme(app)  # the system switching to dark (or light) re-themes every view
    # The smoke test runs unattended: the bundled model's terms are a question for a user.
    window = MainWindow(spec, ask_terms=not args.smoke_test)
    window.show()
    if args.smoke_test:
        from app.ui.smoke_test import run_smoke_test

        return run_smoke_test(app, window)
    return app.exec()
