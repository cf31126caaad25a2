"""Scoring a text of 1,000 tokens: its time against one prefill of the same tokens (the
scoring's own cost: every position's logits read, ranked and its top 5 found), and the
longest stall of the window's event loop while the Score tab scores it on its thread.

Targets: score ≤ 3× prefill; no stall over 50 ms.

Usage: QT_QPA_PLATFORM=offscreen python bench/score.py [--rounds 3]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from event_loop import Heartbeat, run_until
from PySide6.QtWidgets import QApplication

import app  # noqa: F401  (loads llama.cpp's libraries first)
from app.core.decoding.text_score import score_ids
from app.core.llama.engine import Engine

SENTENCE = (
    "The history of the printing press begins in the fifteenth century, when movable type "
    "made books cheaper, faster to copy and easier to carry across Europe. "
)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with Engine("default") as engine:
        text = SENTENCE
        while len(engine.tokenize_prompt(text)) < 1001:
            text += SENTENCE
        ids = engine.tokenize_prompt(text)[:1001]
        text = engine.vocab.detokenize(ids).decode("utf-8", "replace")
        prefill, scoring = [], []
        for _ in range(args.rounds):
            engine.clear()
            start = time.perf_counter()
            engine.prefill(ids)
            prefill.append(time.perf_counter() - start)
            start = time.perf_counter()
            score_ids(engine, ids, len(text.encode()))
            scoring.append(time.perf_counter() - start)
    ratio = statistics.median(scoring) / statistics.median(prefill)
    print(
        f"1,000 tokens: prefill {statistics.median(prefill):.2f} s, scored "
        f"{statistics.median(scoring):.2f} s, ratio {ratio:.2f} (target ≤ 3)"
    )

    qt = QApplication.instance() or QApplication([])
    from app.core.library.default_model import default_model_path
    from app.ui.tabs.score_view import ScoreView

    view = ScoreView(default_model_path)
    view.resize(1200, 700)
    view.show()

    def watched_score(scored: str) -> Heartbeat:
        """Score `scored` in the tab, the event loop watched meanwhile."""
        view.panes[0].score = None
        view.input.setPlainText(scored)
        heartbeat = Heartbeat()
        heartbeat.start()
        view.start()
        run_until(lambda: view.panes[0].score is not None, timeout=600)
        heartbeat.stop()
        return heartbeat

    # A first, short score loads the tab's own engine (once per model, kept for the next).
    first = watched_score(SENTENCE)
    heartbeat = watched_score(text)
    view.close_worker()
    worst = max(heartbeat.stalls, default=0.0)
    print(f"window while scoring: longest event-loop stall {worst:.0f} ms (target ≤ 50)")
    loading = max(first.stalls, default=0.0)
    print(f"(the first score of a model also loads it on the tab's thread: stall {loading:.0f} ms)")
    del qt
    return 0


if __name__ == "__main__":
    sys.exit(main())
