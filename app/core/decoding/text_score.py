"""Scoring any text, as pre-training does: every position's next-token distribution in
one teacher-forced pass, and how surprising each actual next token was (its log p and its
rank), then perplexity and bits per byte for the whole text.

The logits of a chunk are positions × vocabulary × 4 bytes (64 positions of Gemma's
262,144 tokens: 64 MiB), so the text goes through in chunks, never all at once. llama.cpp's
numbers depend on the batch shape: chunks of 64 and 512 agree to a mean 0.002 nats, chunks
of 16 differ by up to 1.3 nats; so chunks are never smaller than 64, and the result says
which size made it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.core.decoding.logit_analysis import LogitsScratch, analyze_logits
from app.core.errors import PromptError
from app.core.llama.engine import Engine
from app.core.llama.prompt_checks import check_prompt

MIN_CHUNK = 64
TOP = 5


@dataclass(frozen=True)
class ScoredToken:
    id: int
    piece: str
    logprob: float  # natural log of the model's p for this token, given the text before it
    rank: int  # 1 = the model's most likely token there
    top: tuple[tuple[int, str, float], ...]  # the model's top alternatives (id, piece, p)

    @property
    def surprisal_bits(self) -> float:
        return -self.logprob / math.log(2)


@dataclass(frozen=True)
class TextScore:
    tokens: tuple[ScoredToken, ...]  # the text's tokens after the first (BOS excluded)
    n_bytes: int
    chunk: int

    @property
    def perplexity(self) -> float:
        if not self.tokens:
            return float("nan")
        return math.exp(-sum(t.logprob for t in self.tokens) / len(self.tokens))

    @property
    def bits_per_byte(self) -> float:
        if not self.n_bytes:
            return float("nan")
        return -sum(t.logprob for t in self.tokens) / math.log(2) / self.n_bytes

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": [
                {
                    "id": t.id,
                    "piece": t.piece,
                    "logprob": t.logprob,
                    "rank": t.rank,
                    "top": [{"id": i, "piece": p, "p": q} for i, p, q in t.top],
                }
                for t in self.tokens
            ],
            "perplexity": self.perplexity,
            "bits_per_byte": self.bits_per_byte,
            "chunk": self.chunk,
        }


def score_ids(
    engine: Engine,
    ids: list[int],
    n_bytes: int,
    chunk: int = MIN_CHUNK,
    progress: Callable[[int, int], bool] | None = None,
) -> TextScore:
    """Score `ids` (the first one, usually BOS, is context only). `progress(done, total)`
    is called after each chunk; False stops (PromptError)."""
    if len(ids) < 2:
        raise PromptError("the text has no token to score after the first")
    check_prompt(len(ids), engine.n_ctx, what="text", leave_room=False)
    chunk = max(MIN_CHUNK, min(chunk, engine.n_batch))
    engine.clear()
    vocab = engine.vocab
    scratch = LogitsScratch(engine.n_vocab)
    scored: list[ScoredToken] = []
    for start in range(0, len(ids) - 1, chunk):
        part = ids[start : start + chunk]
        engine.decode([(token, start + j, 0, True) for j, token in enumerate(part)])
        for j in range(len(part)):
            if start + j + 1 >= len(ids):
                break
            logits = engine.logits(j)
            target = ids[start + j + 1]
            value = float(logits[target])
            # The step's distribution as generation makes it (the same p everywhere); the
            # rank is counted over the whole row, exact below the distribution's head too.
            distribution = analyze_logits(logits, scratch)
            scored.append(
                ScoredToken(
                    id=target,
                    piece=vocab.piece(target).decode("utf-8", "backslashreplace"),
                    logprob=distribution.logprob(value),
                    rank=int(np.count_nonzero(logits > value)) + 1,
                    top=tuple(
                        (t.id, vocab.piece(t.id).decode("utf-8", "backslashreplace"), t.p)
                        for t in distribution.top(TOP)
                    ),
                )
            )
        if progress is not None and not progress(len(scored), len(ids) - 1):
            raise PromptError("scoring was stopped")
    engine.clear()  # the next run must not take this text for its prompt
    return TextScore(tuple(scored), n_bytes, chunk)


def score_text(engine: Engine, text: str, chunk: int = MIN_CHUNK) -> TextScore:
    if not text:
        raise PromptError("the text is empty")
    ids = engine.tokenize_prompt(text)
    return score_ids(engine, ids, len(text.encode("utf-8")), chunk)
