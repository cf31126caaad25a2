"""The logit lens: each layer's residual stream put through the model's own final norm
and output matrix, as if that layer were the last. Raw: early layers were never trained
to be read this way, so what they "predict" is a hint, not the model's opinion. The last
layer's lens is the model's own next-token distribution.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

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


def _softmax(logits: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Row-wise softmax in float32, in place (a row of 262,144 logits per layer)."""
    logits -= logits.max(axis=-1, keepdims=True)
    np.exp(logits, out=logits)
    logits /= logits.sum(axis=-1, keepdims=True, dtype=np.float64).astype(np.float32)
    return logits


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
    probs = _softmax(inspector.output_head().logits(states))
    model = _softmax(model_logits[None, :].copy())[0]
    if chosen is None:
        chosen = ids[position + 1] if position + 1 < len(ids) else int(np.argmax(model))
    vocab = inspector.engine.vocab

    def token(i: int, p: float) -> LensToken:
        return LensToken(int(i), vocab.piece_text(int(i)), float(p))

    def top(row: npt.NDArray[np.float32]) -> tuple[LensToken, ...]:
        best = np.argpartition(row, -TOP)[-TOP:]
        best = best[np.argsort(row[best])[::-1]]
        return tuple(token(i, row[i]) for i in best)

    layers = tuple(LensLayer(n + 1, top(row), float(row[chosen])) for n, row in enumerate(probs))
    return Lens(
        tokens=tuple((int(i), vocab.piece_text(int(i))) for i in prefix),
        position=position,
        chosen=token(chosen, model[chosen]),
        layers=layers,
        model_top=top(model),
    )
