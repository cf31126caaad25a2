"""The engine thread's runs on a llama-server: a stream, and a comparison whose panes run
as parallel requests (the server batches them over its slots)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from app.core.backends.remote_engine import RemoteEngine, RemoteInfo
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import TokenStep
from app.core.errors import PlaygroundError
from app.workers.engine_requests import CompareRequest, ModelLoaded, PromptToken, RunFinished
from app.workers.step_reports import StepReporter

Put = Callable[[Any], None]


def loaded_from(info: RemoteInfo) -> ModelLoaded:
    """What the views are told when the server takes the local model's place."""
    return ModelLoaded(
        info.model,
        Path(info.model),
        info.describe(),
        info.n_ctx,
        chat_template=info.chat_template,
        remote=info,
    )


def stream_remote(
    engine: RemoteEngine,
    ids: list[int],
    settings: DecodingSettings,
    first: int,
    put: Put,
    cancel: threading.Event,
) -> RunFinished:
    reporter = StepReporter(engine.vocab)

    def on_step(step: TokenStep) -> None:
        put(reporter.report(step))

    run = engine.generate(ids, settings, cancel=cancel, on_step=on_step, first_index=first)
    return RunFinished(run.stop_reason, run.stats.tokens_per_second, run.stats.time_to_first_token)


def compare_remote(
    engine: RemoteEngine,
    request: CompareRequest,
    cancel: threading.Event,
    put_for: Callable[[int], Put],
    pane_finished: Callable[[int, RunFinished], None],
    pane_note: Callable[[int, str], None],
    run_beam: Callable[[RemoteEngine, list[int], DecodingSettings, Put], RunFinished],
) -> None:
    """Every pane at once, each its own request; one failing leaves the others."""

    def pane(index: int) -> bool:
        spec = request.panes[index]
        put = put_for(index)
        finished = RunFinished("error", 0.0, 0.0)
        try:
            if spec.model is not None:
                raise PlaygroundError(
                    "another model needs a local engine: the server has one model loaded"
                )
            if spec.chat:
                ids = engine.chat_prompt_ids(request.prompt)
                put(
                    [
                        PromptToken(
                            engine.vocab.piece(i).decode("utf-8", "replace"),
                            engine.vocab.is_control(i),
                        )
                        for i in ids
                    ]
                )
            else:
                ids = engine.tokenize_prompt(request.prompt)
            if spec.settings.mode == "beam":
                finished = run_beam(engine, ids, spec.settings, put)
            else:
                finished = stream_remote(engine, ids, spec.settings, 0, put, cancel)
        except PlaygroundError as exc:
            pane_note(index, str(exc))
        pane_finished(index, finished)
        return finished.reason != "error"

    panes = len(request.panes)
    with ThreadPoolExecutor(max_workers=max(panes, 1), thread_name_prefix="pane") as pool:
        ran = list(pool.map(pane, range(panes)))
    if panes > 1:
        for index in (i for i, ok in enumerate(ran) if ok):
            pane_note(index, f"on the server, in parallel with {panes - 1} other pane(s)")
