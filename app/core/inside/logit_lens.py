"""The logit lens: each layer's residual stream put through the model's own final norm
and output matrix, as if that layer were the last. Raw: early layers were never trained
to be read this way, so what they "predict" is a hint, not the model's opinion. The last
layer's lens is the model's own next-token distribution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.core.decoding.logit_analysis import LogitsScratch, analyze_logits
from app.core.decoding.step_distribution import StepDistribution
from app.core.inside.model_inspector import ModelInspector
from app.core.llama.graph_capture import InspectionError

TOP = 5
CAVEAT = "logit lens (raw): early layers are not trained to be read this way"


@dataclass(frozen=True)
class LensToken:
    id: int
    piece: str
    p: float


@dataclass(frozen=True)
class LensLayer:
    layer: int  # 1 = the first layer's output, n_layer = the last
    top: tuple[LensToken, ...]
    p_chosen: float  # p of the token the model chose, at this layer


@dataclass(frozen=True)
class Lens:
    tokens: tuple[tuple[int, str], ...]  # the text so far, up to and with `position`
    position: int  # the token whose next token is predicted (0-based)
    chosen: LensToken  # the model's choice (its argmax, or the forced / actual next one)
    layers: tuple[LensLayer, ...]
    model_top: tuple[LensToken, ...]  # the model's own distribution from llama.cpp

    def first_layer_with_answer(self) -> int | None:
        """The first layer from which the chosen token stays the lens's top token."""
        first = None
        for entry in self.layers:
            on_top = entry.top[0].id == self.chosen.id
            first = (first or entry.layer) if on_top else None
        return first

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": [{"id": i, "piece": p} for i, p in self.tokens],
            "position": self.position,
            "chosen": {"id": self.chosen.id, "piece": self.chosen.piece, "p": self.chosen.p},
            "layers": [
                {
                    "layer": e.layer,
                    "top": [{"id": t.id, "piece": t.piece, "p": t.p} for t in e.top],
                    "p_chosen": e.p_chosen,
                }
                for e in self.layers
            ],
            "note": CAVEAT,
        }


def logit_lens(
    inspector: ModelInspector,
    ids: Sequence[int],
    position: int | None = None,
    chosen: int | None = None,
) -> Lens:
    """The lens at `position` (default: the last of `ids`) over the tokens before and at
    it. `chosen`: the token the model went on with (default: the next of `ids` when there
    is one, else the model's own most likely token)."""
    if not ids:
        raise InspectionError("there is no text to look into")
    position = len(ids) - 1 if position is None else position
    if not 0 <= position < len(ids):
        raise InspectionError(f"position {position} is outside the {len(ids)} tokens")
    prefix = list(ids[: position + 1])
    states, model_logits = inspector.residual_states(prefix)
    rows = inspector.output_head().logits(states)
    scratch = LogitsScratch(rows.shape[1])
    # Each layer's row summarised as a generated step's is: the same p everywhere.
    layers_seen = [analyze_logits(row, scratch) for row in rows]
    model = analyze_logits(model_logits, scratch)
    if chosen is None:
        chosen = ids[position + 1] if position + 1 < len(ids) else model.top(1)[0].id
    vocab = inspector.engine.vocab

    def token(i: int, p: float) -> LensToken:
        return LensToken(int(i), vocab.piece_text(int(i)), float(p))

    def top(distribution: StepDistribution) -> tuple[LensToken, ...]:
        return tuple(token(t.id, t.p) for t in distribution.top(TOP))

    def p_of(distribution: StepDistribution, row: npt.NDArray[np.float32]) -> float:
        return math.exp(distribution.logprob(float(row[chosen])))

    layers = tuple(
        LensLayer(n + 1, top(d), p_of(d, row))
        for n, (d, row) in enumerate(zip(layers_seen, rows, strict=True))
    )
    return Lens(
        tokens=tuple((int(i), vocab.piece_text(int(i))) for i in prefix),
        position=position,
        chosen=token(chosen, p_of(model, model_logits)),
        layers=layers,
        model_top=top(model),
    )
