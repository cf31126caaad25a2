"""What the engine thread tells the views about each generated token."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from app.core.decoding.step_records import TokenStep

TOP_PIECES = 50  # the chart shows at most this many alternatives


@dataclass(frozen=True)
class StepReport:
    """A step with what the views need from the vocabulary, looked up on the worker."""

    step: TokenStep
    pieces: dict[int, bytes]  # pieces of the chosen token and top alternatives not yet sent


class StepReporter:
    """Makes a run's StepReports. Each piece (a token's bytes, for the chart's labels and
    the text's tooltips) goes to the views once per run: the top 50 of one step are
    mostly the top 50 of the step before, so a step usually sends a handful."""

    def __init__(self, vocab: Any) -> None:
        self._vocab = vocab
        self._sent: set[int] = set()

    def report(self, step: TokenStep) -> StepReport:
        wanted = set(step.distribution.head_ids[:TOP_PIECES].tolist())
        wanted.add(step.id)
        new = wanted - self._sent
        self._sent |= new
        pieces = {token: self._vocab.piece(token) for token in new}
        if step.id in pieces:
            pieces[step.id] = step.piece  # as it appears in the text
        return StepReport(step, pieces)
