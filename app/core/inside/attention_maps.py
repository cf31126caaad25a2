"""Every attention head's weights over a prompt, with what a reader needs beside them:
the token texts, which key/value head each query head shares (grouped-query attention)
and the window of a sliding-window layer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from app.core.inside.model_inspector import ModelInspector

DECIMALS = 6  # in the JSON: enough for every row to sum to 1 within 1e-5


@dataclass(frozen=True)
class AttentionMaps:
    ids: tuple[int, ...]
    pieces: tuple[str, ...]
    layers: tuple[npt.NDArray[np.float32], ...]  # per layer (n_head, n, n): row i attends
    windows: tuple[int | None, ...]  # per layer: the sliding window, None for full
    kv_head_of: tuple[int, ...]  # per query head: the key/value head it reads

    @property
    def n_head(self) -> int:
        return len(self.kv_head_of)

    def shares_kv(self) -> bool:
        return len(set(self.kv_head_of)) < len(self.kv_head_of)

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": [{"id": i, "piece": p} for i, p in zip(self.ids, self.pieces, strict=True)],
            "n_head": self.n_head,
            "kv_head_of": list(self.kv_head_of),
            "layers": [
                {
                    "layer": n + 1,
                    "sliding_window": self.windows[n],
                    "heads": np.round(weights, DECIMALS).tolist(),
                }
                for n, weights in enumerate(self.layers)
            ],
        }


def attention_maps(inspector: ModelInspector, ids: Sequence[int]) -> AttentionMaps:
    layers = inspector.attention(ids)
    vocab = inspector.engine.vocab
    return AttentionMaps(
        ids=tuple(int(i) for i in ids),
        pieces=tuple(vocab.piece_text(int(i)) for i in ids),
        layers=tuple(layers),
        windows=tuple(inspector.sliding_window(n) for n in range(len(layers))),
        kv_head_of=tuple(inspector.kv_head_of(h) for h in range(inspector.n_head)),
    )
