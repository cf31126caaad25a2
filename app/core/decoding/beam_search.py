"""Beam search over llama.cpp sequences, recording the whole search tree.

B beams live in B sequence slots of one context. Each step decodes one token per beam
in one batch, expands every beam by its B most likely next tokens, and keeps the B best
candidates by cumulative log-probability (at T = 1). A candidate that ends generation
becomes a finished hypothesis instead of a beam. Slots are remapped with sequence
copies (metadata only with the unified KV cache).

Final hypotheses are ranked by sum(logprob) / length ** length_penalty when a length
penalty is given, by sum(logprob) otherwise.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.logit_analysis import LogitsScratch, analyze_logits
from app.core.decoding.step_records import BeamNode, GenerationStats, StopReason, TokenStep
from app.core.errors import SettingsError
from app.core.llama.engine import MAX_SEQUENCES, Engine


@dataclass
class BeamHypothesis:
    ids: list[int]
    logprob: float
    score: float
    finished: bool
    steps: list[TokenStep]
    text: str = ""
    last_node: int = -1


@dataclass
class BeamResult:
    hypotheses: list[BeamHypothesis]  # best first
    nodes: list[BeamNode] = field(default_factory=list)
    stop_reason: StopReason = "max_tokens"

    @property
    def best(self) -> BeamHypothesis:
        return self.hypotheses[0]


@dataclass
class Beam:
    ids: list[int]
    logprob: float
    steps: list[TokenStep]
    slot: int  # the sequence slot holding its cache (-1: a server's, no slot here)
    node: int


Candidate = tuple[float, int, TokenStep, float]  # path score, beam, step, log p


def final_score(logprob: float, length: int, length_penalty: float | None) -> float:
    if length_penalty is None or length == 0:
        return logprob
    return logprob / float(length**length_penalty)


TreeCallback = Callable[[list[BeamNode]], None]


def beam_search(
    engine: Engine,
    prompt_ids: Sequence[int],
    settings: DecodingSettings,
    *,
    cancel: threading.Event | None = None,
    on_nodes: TreeCallback | None = None,
    stats: GenerationStats | None = None,
    first_index: int = 0,
) -> BeamResult:
    """Beam search after `prompt_ids`; steps and nodes are numbered from `first_index`
    (a search that continues a text)."""
    settings.validated()
    width = settings.beam_width
    if width > MAX_SEQUENCES:
        raise SettingsError(f"beam width must be at most {MAX_SEQUENCES}, got {width}")
    stats = stats or GenerationStats()
    stats.prompt_tokens = len(prompt_ids)
    scratch = LogitsScratch(engine.n_vocab)
    vocab = engine.vocab
    start = time.perf_counter()
    engine.clear()
    engine.prefill(prompt_ids, seq=0)
    stats.prefill_seconds = time.perf_counter() - start

    nodes: list[BeamNode] = []
    finished: list[BeamHypothesis] = []
    beams = [Beam([], 0.0, [], 0, -1)]
    rows = [-1]
    pos = len(prompt_ids)
    stop: StopReason = "max_tokens"
    decode_start = 0.0
    for step_index in range(settings.max_tokens):
        candidates: list[Candidate] = []
        step_nodes_start = len(nodes)
        for beam_index, beam in enumerate(beams):
            row = engine.logits(rows[beam_index])
            dist = analyze_logits(row, scratch)
            for top in dist.top(width, 1.0):
                step = TokenStep(
                    index=first_index + step_index,
                    id=top.id,
                    piece=vocab.piece(top.id, special=True),
                    logit=top.logit,
                    temperature=1.0,
                    distribution=dist,
                    chosen_by="beam",
                    ends_generation=vocab.is_eog(top.id),
                )
                lp = dist.logprob(top.logit, 1.0)
                candidates.append((beam.logprob + lp, beam_index, step, lp))
        stats.generated_tokens += len(beams)
        next_beams = select_candidates(
            candidates, beams, finished, width, nodes, first_index + step_index
        )
        if on_nodes is not None:
            on_nodes(nodes[step_nodes_start:])
        if step_index == 0:
            stats.time_to_first_token = time.perf_counter() - start
            decode_start = time.perf_counter()

        new_beams = _remap_slots(engine, beams, next_beams, candidates, step_nodes_start)
        beams = new_beams
        if not beams or len(finished) >= width:
            stop = "eog"
            break
        if step_index + 1 >= settings.max_tokens:
            break
        if pos >= engine.n_ctx:
            stop = "context_full"
            break
        if cancel is not None and cancel.is_set():
            stop = "cancelled"
            break
        engine.decode([(b.ids[-1], pos, b.slot, True) for b in beams])
        rows = list(range(len(beams)))
        pos += 1
    stats.decode_seconds = time.perf_counter() - decode_start if decode_start else 0.0

    hypotheses = finish_search(
        beams, finished, settings, lambda ids: vocab.detokenize(ids).decode("utf-8", "replace")
    )
    return BeamResult(hypotheses=hypotheses, nodes=nodes, stop_reason=stop)


def select_candidates(
    candidates: list[Candidate],
    beams: Sequence[Beam],
    finished: list[BeamHypothesis],
    width: int,
    nodes: list[BeamNode],
    step_number: int,
) -> list[tuple[int, Beam]]:
    """Keep the `width` best candidates (best first; ties keep beam order, then the
    token's rank): one that ends generation becomes a finished hypothesis, the others
    beams. Every candidate is recorded in `nodes`; returns (candidate, parent) of each
    new beam."""
    first_node = len(nodes)
    order = sorted(range(len(candidates)), key=lambda i: -candidates[i][0])
    chosen: dict[int, str] = {}
    next_beams: list[tuple[int, Beam]] = []
    for i in order:
        score, beam_index, step, _lp = candidates[i]
        if step.ends_generation:
            if len(finished) < width:
                chosen[i] = "finished"
                parent = beams[beam_index]
                finished.append(
                    BeamHypothesis(
                        ids=[*parent.ids, step.id],
                        logprob=score,
                        score=0.0,
                        finished=True,
                        steps=[*parent.steps, step],
                        last_node=first_node + i,
                    )
                )
        else:
            chosen[i] = "beam"
            next_beams.append((i, beams[beam_index]))
        if len(next_beams) == width:
            break
    for i, (score, beam_index, step, lp) in enumerate(candidates):
        status = chosen.get(i)
        nodes.append(
            BeamNode(
                node_id=len(nodes),
                parent=beams[beam_index].node,
                step=step_number,
                token=step.id,
                piece=step.piece,
                logprob=lp,
                score=score,
                kept=status is not None,
                finished=status == "finished",
            )
        )
    return next_beams


def finish_search(
    beams: Sequence[Beam],
    finished: list[BeamHypothesis],
    settings: DecodingSettings,
    text_of: Callable[[list[int]], str],
) -> list[BeamHypothesis]:
    """Every hypothesis, the surviving beams too, scored and best first."""
    for beam in beams:
        finished.append(
            BeamHypothesis(
                ids=beam.ids,
                logprob=beam.logprob,
                score=0.0,
                finished=False,
                steps=beam.steps,
                last_node=beam.node,
            )
        )
    for hyp in finished:
        hyp.score = final_score(hyp.logprob, len(hyp.ids), settings.length_penalty)
        hyp.text = text_of([s.id for s in hyp.steps if not s.ends_generation])
    finished.sort(key=lambda h: -h.score)
    return finished


def _remap_slots(
    engine: Engine,
    beams: list[Beam],
    chosen: list[tuple[int, Beam]],
    candidates: list[Candidate],
    first_node: int,
) -> list[Beam]:
    """Give each surviving candidate a sequence slot holding its parent's cache."""
    used_parent_slots: set[int] = set()
    parent_slots = {b.slot for b in beams}
    all_slots = set(range(MAX_SEQUENCES))
    free = sorted(all_slots - parent_slots)
    result: list[Beam] = []
    pending_copies: list[tuple[int, int]] = []
    for cand_index, parent in chosen:
        score, _beam_index, step, _lp = candidates[cand_index]
        if parent.slot not in used_parent_slots:
            slot = parent.slot
            used_parent_slots.add(slot)
        else:
            slot = -1  # assigned below, once unused parents' slots are known
        result.append(
            Beam(
                ids=[*parent.ids, step.id],
                logprob=score,
                steps=[*parent.steps, step],
                slot=slot,
                node=first_node + cand_index,
            )
        )
        if slot == -1:
            pending_copies.append((len(result) - 1, parent.slot))
    # Slots of parents without children are free again; so are never-used slots.
    free = sorted(parent_slots - used_parent_slots) + free
    for beam in beams:
        if beam.slot not in used_parent_slots:
            engine.remove_sequence(beam.slot)
    for result_index, parent_slot in pending_copies:
        slot = free.pop(0)
        engine.copy_sequence(parent_slot, slot)
        result[result_index].slot = slot
    return result
