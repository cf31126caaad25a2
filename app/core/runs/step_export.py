"""A run's steps as CSV: one row per token, for spreadsheets and coursework."""

from __future__ import annotations

import csv
from collections.abc import Callable
from pathlib import Path

from app.core.runs.run_record import LN2, RunRecord

TOP_COLUMNS = 5

PieceOf = Callable[[int], bytes]


def _text(piece: bytes) -> str:
    return piece.decode("utf-8", "backslashreplace")


def export_steps_csv(
    path: Path, record: RunRecord, piece_of: PieceOf, temperature: float = 1.0
) -> None:
    """Write the steps; `piece_of` gives the alternatives' pieces (from the vocabulary).

    Steps are numbered from 1, as the window numbers them. `p_model`, `logprob_model`,
    the entropy, the surprisal and the alternatives' p are the model's own distribution
    (T = 1); `p_at_T` is the chosen token's p at `temperature` (the chart's T).
    """
    header = [
        "step",
        "token_id",
        "piece",
        "p_model",
        "logprob_model",
        "rank",
        "entropy_bits",
        "surprisal_bits",
        "T",
        "p_at_T",
        "forced",
        "sampled_u",
    ]
    for k in range(1, TOP_COLUMNS + 1):
        header += [f"top{k}_id", f"top{k}_piece", f"top{k}_p_model"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(header)
        for step in record.steps:
            row: list[object] = [
                step.number,
                step.id,
                _text(step.piece),
                f"{step.p_model:.8g}",
                f"{step.logprob_model:.8g}",
                step.rank + 1,
                f"{step.distribution.entropy(1.0) / LN2:.6g}",
                f"{-step.logprob_model / LN2:.6g}",
                f"{temperature:g}",
                f"{step.p_at(temperature):.8g}",
                int(step.forced),
                "" if step.sample is None else f"{step.sample.uniform:.8g}",
            ]
            for alt in step.top(TOP_COLUMNS, 1.0):
                row += [alt.id, _text(piece_of(alt.id)), f"{alt.p:.8g}"]
            writer.writerow(row)
