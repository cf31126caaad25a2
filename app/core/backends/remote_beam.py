"""Beam search driven from here over a llama-server.

Each step asks the server, for every beam at once (parallel requests, which the server
batches over its slots), for the next token's top alternatives after the beam's text:
one token decoded per beam, the common prefix taken from the slot's prompt cache. The
candidates are scored and pruned exactly as the local search does (select_candidates),
so the tree is the same view. Scores use the server's log-probabilities at T = 1, which
are exact for the top N it sends; a beam only ever extends by its `width` best tokens,
all inside that top N.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace

from app.core.backends.remote_engine import RemoteEngine
from app.core.decoding.beam_search import (
    Beam,
    BeamHypothesis,
    BeamResult,
    Candidate,
    finish_search,
    select_candidates,
)
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import BeamNode, GenerationStats, StopReason, TokenStep


def remote_beam_search(
    engine: RemoteEngine,
    prompt_ids: Sequence[int],
    settings: DecodingSettings,
    *,
    cancel: threading.Event | None = None,
    on_nodes: Callable[[list[BeamNode]], None] | None = None,
    stats: GenerationStats | None = None,
    first_index: int = 0,
) -> BeamResult:
    settings.validated()
    width = settings.beam_width
    stats = stats or GenerationStats()
    stats.prompt_tokens = len(prompt_ids)
    start = time.perf_counter()
    nodes: list[BeamNode] = []
    finished: list[BeamHypothesis] = []
    beams = [Beam([], 0.0, [], -1, -1)]
    stop: StopReason = "max_tokens"
    decode_start = 0.0
    prompt = list(prompt_ids)
    with ThreadPoolExecutor(max_workers=width, thread_name_prefix="beam") as pool:

        def expand(beam: Beam) -> list[TokenStep]:
            return engine.next_token_steps(prompt + beam.ids, width, len(beam.steps))[0]

        for step_index in range(settings.max_tokens):
            index = first_index + step_index
            expansions = list(pool.map(expand, beams))
            # Which candidates end generation: asked once per token, in parallel.
            unknown = {s.id for steps in expansions for s in steps}
            list(pool.map(engine.vocab.is_eog, sorted(unknown)))
            candidates: list[Candidate] = []
            for beam_index, (beam, steps) in enumerate(zip(beams, expansions, strict=True)):
                for step in steps:
                    eog = engine.vocab.is_eog(step.id)
                    marked = replace(step, index=index, ends_generation=eog)
                    lp = step.logprob_model
                    candidates.append((beam.logprob + lp, beam_index, marked, lp))
            stats.generated_tokens += len(beams)
            first_node = len(nodes)
            chosen = select_candidates(candidates, beams, finished, width, nodes, index)
            if on_nodes is not None:
                on_nodes(nodes[first_node:])
            if step_index == 0:
                stats.time_to_first_token = time.perf_counter() - start
                decode_start = time.perf_counter()
            beams = [
                Beam(
                    ids=[*parent.ids, candidates[i][2].id],
                    logprob=candidates[i][0],
                    steps=[*parent.steps, candidates[i][2]],
                    slot=-1,
                    node=first_node + i,
                )
                for i, parent in chosen
            ]
            if not beams or len(finished) >= width:
                stop = "eog"
                break
            if len(prompt) + step_index + 1 >= engine.n_ctx > 0:
                stop = "context_full"
                break
            if cancel is not None and cancel.is_set():
                stop = "cancelled"
                break
    stats.decode_seconds = time.perf_counter() - decode_start if decode_start else 0.0

    def text_of(ids: list[int]) -> str:
        return engine.vocab.detokenize(ids).decode("utf-8", "replace") if ids else ""

    hypotheses = finish_search(beams, finished, settings, text_of)
    return BeamResult(hypotheses=hypotheses, nodes=nodes, stop_reason=stop)
