"""Comparing continuations of one prompt: where they part, and how each one reads.

Figures are taken under the model distribution at T = 1 (what the model itself thinks of
each sequence), whatever temperature a pane sampled with, so panes compare fairly.
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.decoding.step_records import TokenStep

LN2 = math.log(2)
REPEAT_N = 3  # the repetition score counts repeated token trigrams


def first_divergence(sequences: Sequence[Sequence[int]]) -> int | None:
    """The first step at which the token sequences differ (None: identical so far).

    A sequence that ends while the others go on diverges where it ends.
    """
    if len(sequences) < 2:
        return None
    shortest = min(len(s) for s in sequences)
    for index in range(shortest):
        if len({s[index] for s in sequences}) > 1:
            return index
    if any(len(s) != shortest for s in sequences):
        return shortest
    return None


@dataclass(frozen=True)
class SequenceMetrics:
    tokens: int
    logprob: float  # sum of log p of the chosen tokens at T = 1
    mean_surprisal_bits: float
    perplexity: float
    repetition: float  # share of token trigrams that already occurred earlier (0..1)


def sequence_metrics(steps: Sequence[TokenStep]) -> SequenceMetrics:
    if not steps:
        return SequenceMetrics(0, 0.0, math.nan, math.nan, 0.0)
    logprobs = [s.distribution.logprob(s.logit, 1.0) for s in steps]
    total = math.fsum(logprobs)
    mean_nll = -total / len(steps)
    return SequenceMetrics(
        tokens=len(steps),
        logprob=total,
        mean_surprisal_bits=mean_nll / LN2,
        perplexity=math.exp(min(mean_nll, 700.0)),
        repetition=repetition_score([s.id for s in steps]),
    )


def repetition_score(ids: Sequence[int], n: int = REPEAT_N) -> float:
    """Share of the n-grams that repeat an earlier one: 0 for fresh text, near 1 for a
    loop (greedy decoding's classic failure)."""
    grams = [tuple(ids[i : i + n]) for i in range(len(ids) - n + 1)]
    if not grams:
        return 0.0
    seen: set[tuple[int, ...]] = set()
    repeated = 0
    for gram in grams:
        if gram in seen:
            repeated += 1
        seen.add(gram)
    return repeated / len(grams)


_WORD = re.compile(r"\S+")


def differing_words(reference: str, text: str) -> list[tuple[int, int]]:
    """Character spans [start, end) of the words of `text` that are not in `reference`
    at the matching place (a word-level diff, as the course slide highlights them)."""
    ref_words = [m.group() for m in _WORD.finditer(reference)]
    matches = list(_WORD.finditer(text))
    words = [m.group() for m in matches]
    matcher = difflib.SequenceMatcher(a=ref_words, b=words, autojunk=False)
    spans: list[tuple[int, int]] = []
    for tag, _a0, _a1, b0, b1 in matcher.get_opcodes():
        if tag in ("replace", "insert"):
            spans.extend((matches[i].start(), matches[i].end()) for i in range(b0, b1))
    return spans
