"""The chart's bars for a step a server sent: its top N are exact at T = 1; at another
temperature each bar is an estimate, drawn with the interval it must lie in whatever the
tokens the server did not send are (TopNDistribution.probability_bounds)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pyqtgraph as pg
from PySide6.QtGui import QColor

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import TokenStep
from app.core.decoding.top_n_distribution import TopNDistribution
from app.core.decoding.truncation import survivor_mask


@dataclass(frozen=True)
class Bar:
    token_id: int  # -1 for "all other tokens"
    label: str
    p: float  # at the chart's temperature
    color: QColor
    p_model: float = math.nan  # the model's own distribution (T = 1)


def estimate_note(
    step: TokenStep, temperature: float, sampling: DecodingSettings | None = None
) -> str:
    """The chart's line for a server's step ("" for a local one). With the screen's
    sampling settings: whether the survivors may reach past the tokens sent (every sent
    token kept, and top-k does not stop at them), so that the cut is not all shown."""
    dist = step.distribution
    if not isinstance(dist, TopNDistribution):
        return ""
    drawn = abs(temperature - 1.0) > 1e-9
    if sampling is not None and survivors_past_top_n(dist, sampling):  # one line: short
        return f"server's top {dist.top_n}; sampling keeps more; the rest estimated"
    bounds = " (bounds drawn)" if drawn else ""
    return f"server sent the top {dist.top_n}; the rest is estimated{bounds}"


def survivors_past_top_n(dist: TopNDistribution, settings: DecodingSettings) -> bool:
    keep = survivor_mask(dist, settings, dist.top_n)
    past_k = settings.top_k == 0 or settings.top_k > dist.top_n
    return bool(keep.size == dist.top_n and keep[-1]) and past_k and dist.vocab_size > dist.top_n


def rank_text(step: TokenStep) -> str:
    """ "#12", or "beyond #20" for a token below the top N a server sent."""
    dist = step.distribution
    if isinstance(dist, TopNDistribution) and dist.rank_unknown(step.logit):
        return f"beyond #{dist.top_n}"
    return f"#{step.rank + 1}"


def bar_bounds(step: TokenStep, bars: list[Bar], temperature: float) -> list[tuple[float, float]]:
    """(least, most) p of each bar at `temperature`; the last bar is all the others."""
    dist = step.distribution
    assert isinstance(dist, TopNDistribution)
    logits = dict(zip(dist.head_ids.tolist(), dist.head_logits.tolist(), strict=True))
    logits.setdefault(step.id, step.logit)
    shown = [dist.probability_bounds(logits[b.token_id], temperature) for b in bars[:-1]]
    others = (
        max(0.0, 1.0 - math.fsum(high for _low, high in shown)),
        max(0.0, 1.0 - math.fsum(low for low, _high in shown)),
    )
    return [*shown, others]


class EstimateBars(pg.ErrorBarItem):  # type: ignore[misc]
    """Horizontal whiskers over the estimated bars; hidden for exact steps and at T = 1."""

    def __init__(self) -> None:
        super().__init__(x=np.zeros(0), y=np.zeros(0), beam=0.3, pen=pg.mkPen("#444", width=1.5))
        self.bounds: list[tuple[float, float]] = []

    def show_for(self, step: TokenStep | None, bars: list[Bar], temperature: float) -> None:
        estimated = (
            step is not None
            and isinstance(step.distribution, TopNDistribution)
            and abs(temperature - 1.0) > 1e-9
            and temperature > 0
            and bool(bars)
        )
        if not estimated or step is None:
            self.bounds = []
            self.setData(x=np.zeros(0), y=np.zeros(0), left=np.zeros(0), right=np.zeros(0))
            return
        self.bounds = bar_bounds(step, bars, temperature)
        p = np.array([b.p for b in bars])
        low = np.array([lo for lo, _hi in self.bounds])
        high = np.array([hi for _lo, hi in self.bounds])
        self.setData(
            x=p,
            y=np.arange(len(bars), dtype=float),
            left=np.maximum(p - low, 0.0),
            right=np.maximum(high - p, 0.0),
        )
