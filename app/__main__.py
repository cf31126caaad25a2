"""Composition root: `llm-playground` opens the window; a subcommand runs headless."""

from __future__ import annotations

import logging
import logging.handlers
import platform
import sys
from collections.abc import Sequence

from app.core import paths
from app.core.errors import PlaygroundError
from app.core.version import app_version

LOG_FILE = "llm-playground.log"
LOG_BYTES = 2 << 20  # then llm-playground.log.1 … .3: a few runs' worth, never unbounded
LOG_BACKUPS = 3
SUBCOMMANDS = {
    "generate",
    "tokenize",
    "bpe",
    "info",
    "models",
    "serve",
    "rpc-worker",
    "lens",
    "attention",
    "score",
    "reward",
    "_probe",
}


def configure_logging() -> None:
    """Everything, llama.cpp's log included, goes to a log file, not the terminal."""
    handler: logging.Handler
    try:
        # backslashreplace: a path of undecodable bytes must not make logging itself fail.
        handler = logging.handlers.RotatingFileHandler(
            paths.log_dir() / LOG_FILE,
            maxBytes=LOG_BYTES,
            backupCount=LOG_BACKUPS,
            encoding="utf-8",
            errors="backslashreplace",
        )
    except (OSError, PlaygroundError):
        handler = logging.NullHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.getLogger("llama.cpp").setLevel(logging.WARNING)
    logging.getLogger("httpx2").setLevel(logging.WARNING)  # one line per request otherwise
    log = logging.getLogger("app")
    try:
        data: object = paths.data_dir()
    except PlaygroundError as exc:
        data = f"nowhere ({exc})"
    log.info(
        "LLM Playground %s · Python %s · %s · data in %s",
        app_version(),
        platform.python_version(),
        platform.platform(),
        data,
    )
    previous = sys.excepthook

    def log_uncaught(kind: type[BaseException], value: BaseException, tb: object) -> None:
        log.critical("uncaught exception", exc_info=(kind, value, tb))  # type: ignore[arg-type]
        previous(kind, value, tb)  # type: ignore[arg-type]

    sys.excepthook = log_uncaught


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    configure_logging()
    if args and args[0] in SUBCOMMANDS:
        from app.cli import run

        return run(args)
    from app.ui.application import run_gui

    return run_gui(args, sorted(SUBCOMMANDS))


if __name__ == "__main__":
    sys.exit(main())
