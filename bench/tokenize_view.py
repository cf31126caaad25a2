"""The Tokenizer tab on long texts: tokenized and displayed, and the event loop meanwhile.

Prints, for 100 KB and 1 MB of mixed text (the README, prose and code, repeated):
  - seconds from the request to the chips being laid out (targets: 100 KB <= 0.3 s,
    1 MB <= 3 s), and the ratio to llama.cpp's raw tokenize call on the same text;
  - the longest event-loop stall meanwhile (a 5 ms heartbeat; target <= 50 ms).

Usage: QT_QPA_PLATFORM=offscreen python bench/tokenize_view.py [--model default]
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

import app  # noqa: F401  (loads llama.cpp's libraries first)

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from event_loop import Heartbeat, run_until
from PySide6.QtWidgets import QApplication

from app.core.library.default_model import resolve_model
from app.ui.tabs.tokenizer_view import TokenizerView

SIZES = (100_000, 1_000_000)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", default="default")
    args = parser.parse_args()
    qapp = QApplication([])
    view = TokenizerView()
    view.resize(1300, 800)
    view.show()
    view.model_path = str(resolve_model(args.model))
    view.input.blockSignals(True)  # each size is requested once, below
    view.input.setPlainText("warm up")
    view.tokenize()  # loads the vocabulary
    run_until(lambda: view.result is not None, poll_ms=1)

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text(encoding="utf-8")
    heartbeat = Heartbeat()
    for size in SIZES:
        text = (readme * (size // len(readme) + 1))[:size]
        view.input.setPlainText(text)
        # Let the text editor finish taking the paste (Qt's own layout of the input box)
        # so the stalls measured below are the tokenizing and the chips.
        settle = time.perf_counter() + 1.0
        while time.perf_counter() < settle:
            qapp.processEvents()
        view.result = None
        heartbeat.stalls.clear()
        heartbeat.start()
        start = time.perf_counter()
        view.tokenize()
        run_until(lambda: view.result is not None and view.chips.laid_out, poll_ms=1)
        seconds = time.perf_counter() - start
        heartbeat.stop()
        result = view.result
        assert result is not None
        print(
            f"{size // 1000} KB: {len(result.infos):,} tokens shown in {seconds:.2f} s "
            f"(llama.cpp's tokenize alone {result.seconds:.2f} s, ratio "
            f"{seconds / result.seconds:.1f}x); longest event-loop stall "
            f"{max(heartbeat.stalls, default=0.0):.0f} ms (target <= 50 ms)"
        )
    view.close_worker()
    qapp.processEvents()


if __name__ == "__main__":
    main()
