"""A comparison pane that runs on its own on the local engine: beam search, a chat prompt
(through the model's template), or another model loaded for the pane and closed after."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import TokenStep
from app.workers.engine_requests import PaneSpec, PromptToken, RunFinished
from app.workers.step_reports import StepReporter

Put = Callable[[Any], None]


def solo_pane(
    loaded: object,
    spec: PaneSpec,
    prompt: str,
    put: Put,
    cancel: threading.Event,
    note: Callable[[str], None],
    beam: Callable[[object, list[int], DecodingSettings, Put], RunFinished],
) -> RunFinished:
    from app.core.decoding.generation import generate
    from app.core.decoding.step_records import GenerationStats
    from app.core.llama.engine import Engine

    own = spec.model is not None
    engine = Engine(spec.model) if own else loaded  # type: ignore[arg-type]
    assert isinstance(engine, Engine)
    try:
        vocab = engine.vocab
        if spec.chat:
            ids = engine.chat_prompt_ids(prompt)
            put(
                [
                    PromptToken(
                        vocab.piece(i).decode("utf-8", "replace"),
                        vocab.is_control(i) or i == vocab.bos,
                    )
                    for i in ids
                ]
            )
        else:
            ids = engine.tokenize_prompt(prompt)
        if own:
            note(f"{engine.path.name}: loaded for this pane, run after the others")
        if spec.settings.mode == "beam":
            return beam(engine, ids, spec.settings, put)
        stats = GenerationStats()
        reporter = StepReporter(vocab)

        def on_step(step: TokenStep) -> None:
            put(reporter.report(step))

        result = generate(engine, ids, spec.settings, cancel=cancel, on_step=on_step, stats=stats)
        return RunFinished(
            result.stop_reason or "", stats.tokens_per_second, stats.time_to_first_token
        )
    finally:
        if own:
            engine.close()
