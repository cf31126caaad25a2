"""A run's steps as CSV: one row per token, for spreadsheets and coursework."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from app.core.run_record import RunRecord, entropy_bits, surprisal_bits

TOP_COLUMNS = 5

PieceOf = Callable[[int], bytes]


def _text(piece: bytes) -> str:
    return piece.decode("utf-8", "backslashreplace")


def export_steps_csv(path: Path, record: RunRecord, piece_of: PieceOf) -> None:
    """Write the steps; `piece_of` gives the alternatives' pieces (from the vocabulary)."""
    header = [
        "step",
        "token_id",
        "piece",
        "p",
        "logprob",
        "rank",
        "entropy_bits",
        "surprisal_bits",
        "temperature",
        "forced",
    ]
    for k in range(1, TOP_COLUMNS + 1):
        header += [f"top{k}_id", f"top{k}_piece", f"top{k}_p"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for step in record.steps:
            row: list[object] = [
                step.index,
                step.id,
                _text(step.piece),
                f"{step.p:.8g}",
                f"{step.logprob:.8g}",
                step.rank + 1,
                f"{entropy_bits(step):.6g}",
                f"{surprisal_bits(step):.6g}",
                step.temperature,
                int(step.forced),
            ]
            for alt in step.top(TOP_COLUMNS):
                row += [alt.id, _text(piece_of(alt.id)), f"{alt.p:.8g}"]
            writer.writerow(row)
