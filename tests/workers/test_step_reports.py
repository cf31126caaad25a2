"""Each step's report carries the pieces its views label, each sent once per run."""

from __future__ import annotations

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.decoding.step_records import TokenStep
from app.core.llama.engine import Engine
from app.workers.step_reports import TOP_PIECES, StepReporter


def test_every_label_is_known_and_no_piece_is_sent_twice(
    engine: Engine, prompt_ids: list[int]
) -> None:
    steps: list[TokenStep] = []
    settings = DecodingSettings(mode="sample", temperature=1.2, seed=11, max_tokens=30)
    generate(engine, prompt_ids, settings, on_step=steps.append)
    reporter = StepReporter(engine.vocab)
    known: dict[int, bytes] = {}
    sent = 0
    for step in steps:
        report = reporter.report(step)
        assert not set(report.pieces) & set(known)  # nothing twice
        known.update(report.pieces)
        sent += len(report.pieces)
        for entry in step.top(TOP_PIECES):  # what the chart can label, at any temperature
            assert known[entry.id] == engine.vocab.piece(entry.id)
        assert known[step.id] == step.piece
        assert report.step.ends_generation == engine.vocab.is_eog(step.id)
    assert sent < len(steps) * TOP_PIECES / 2  # most of a step's top 50 were sent before
