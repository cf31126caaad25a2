"""The recorded runs and tokenizations (tests/data/recorded) as the widgets get them, and
the reference figures the widget tests compare with, computed here from each step's
stored distribution rather than by the app's own scoring code."""

from __future__ import annotations

import gzip
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from app.core.decoding.step_distribution import BINS_PER_LOGIT, StepDistribution
from app.core.runs.session_file import Session, load_session
from app.core.tokenizer.text_tokens import SplitCharacter
from app.core.tokenizer.tokens import TokenInfo

RECORDED = Path(__file__).resolve().parents[1] / "data" / "recorded"
SESSIONS = ("greedy", "sampled", "beam")


@dataclass(frozen=True)
class TokenizedSample:
    """One text as the Tokenizer tab receives it from its worker."""

    text: str
    infos: list[TokenInfo]
    split: list[SplitCharacter]


def load_recorded_session(name: str, scratch: Path) -> Session:
    """A recorded session, opened by the app's own reader (unpacked into `scratch`)."""
    plain = scratch / f"{name}.session.json"
    plain.write_bytes(gzip.decompress((RECORDED / f"{name}.session.json.gz").read_bytes()))
    return load_session(plain)


def load_tokenized_samples() -> list[TokenizedSample]:
    document = json.loads((RECORDED / "tokens.json").read_text(encoding="utf-8"))
    return [
        TokenizedSample(
            text=entry["text"],
            infos=[
                TokenInfo(
                    id=t["id"],
                    piece=bytes.fromhex(t["piece"]),
                    vocab_text=t["vocab_text"],
                    kind=t["kind"],
                    start=t["start"],
                    end=t["end"],
                )
                for t in entry["tokens"]
            ],
            split=[
                SplitCharacter(s["char"], s["start"], s["end"], tuple(s["tokens"]))
                for s in entry["split"]
            ],
        )
        for entry in document["texts"]
    ]


def _scaled(dist: StepDistribution, temperature: float) -> tuple[np.ndarray, np.ndarray]:
    """(z - max) / T of the head tokens, and of the tail tokens at their bins' centres."""
    head = (dist.head_logits.astype(np.float64) - dist.max_logit) / temperature
    bins = dist.tail_first_bin + np.arange(dist.tail_counts.size)
    tail = -((bins + 0.5) / BINS_PER_LOGIT) / temperature
    return head, tail


def reference_probabilities(dist: StepDistribution, temperature: float) -> dict[int, float]:
    """softmax(z / T) over the whole vocabulary, for each head token (by id).

    The normaliser sums the head exactly and every tail token at its bin's centre, about
    1e-3 of the tail's mass from the app's quadrature: far below what the chart shows.
    """
    head, tail = _scaled(dist, temperature)
    counts = dist.tail_counts.astype(np.float64)
    normaliser = float(np.exp(head).sum() + (counts * np.exp(tail)).sum())
    return {
        int(token): math.exp(x) / normaliser
        for token, x in zip(dist.head_ids.tolist(), head.tolist(), strict=True)
    }


def reference_entropy_bits(dist: StepDistribution, temperature: float = 1.0) -> float:
    """Shannon entropy of softmax(z / T) over the whole vocabulary, in bits."""
    head, tail = _scaled(dist, temperature)
    counts = dist.tail_counts.astype(np.float64)
    log_z = math.log(float(np.exp(head).sum() + (counts * np.exp(tail)).sum()))
    head_log_p = head - log_z
    tail_log_p = tail - log_z
    nats = -float((np.exp(head_log_p) * head_log_p).sum()) - float(
        (counts * np.exp(tail_log_p) * tail_log_p).sum()
    )
    return nats / math.log(2)


def reference_surprisal_bits(dist: StepDistribution, token: int) -> float:
    """-log2 p of a head token under the model's own distribution (T = 1)."""
    return -math.log2(reference_probabilities(dist, 1.0)[token])
