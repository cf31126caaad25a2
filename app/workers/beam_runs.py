"""A beam search on the engine thread, local or on a server, and what it reports: the
best path's steps, then the tree, the path and the hypotheses in RunFinished."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import BeamNode, GenerationStats
from app.workers.engine_requests import Hypothesis, RunFinished
from app.workers.step_reports import StepReporter


def run_beam_search(
    engine: Any,
    ids: list[int],
    settings: DecodingSettings,
    first: int,
    put: Callable[[Any], None],
    cancel: threading.Event,
    on_nodes: Callable[[list[BeamNode]], None],
) -> RunFinished:
    from app.core.backends.remote_beam import remote_beam_search
    from app.core.backends.remote_engine import RemoteEngine
    from app.core.decoding.beam_search import beam_search

    stats = GenerationStats()
    search = remote_beam_search if isinstance(engine, RemoteEngine) else beam_search
    result = search(
        engine,
        ids,
        settings,
        cancel=cancel,
        on_nodes=on_nodes,
        stats=stats,
        first_index=first,
    )
    reporter = StepReporter(engine.vocab)
    for step in result.best.steps:
        put(reporter.report(step))
    nodes = result.nodes
    # Beam steps are per step of the search: report the search's speed per step.
    steps = max(len(result.best.steps) - 1, 0)
    speed = steps / stats.decode_seconds if stats.decode_seconds > 0 else 0.0
    by_id = {n.node_id: n for n in nodes}
    path: list[int] = []
    node_id = result.best.last_node
    while node_id in by_id:
        path.append(node_id)
        node_id = by_id[node_id].parent
    hypotheses = [
        Hypothesis(h.text, h.score, h.logprob, len(h.ids), h.finished, h.last_node)
        for h in result.hypotheses
    ]
    return RunFinished(
        result.stop_reason,
        speed,
        stats.time_to_first_token,
        nodes,
        path[::-1],
        {n.token: n.piece for n in nodes},
        hypotheses,
    )
