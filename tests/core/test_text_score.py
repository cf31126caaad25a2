"""Scoring any text: each token's log p and rank under the model, in chunks of at least
64, equal to llama-cpp-python's own numbers for the same text in one batch."""

from __future__ import annotations

import json
import math
from pathlib import Path

import llama_cpp
import numpy as np
import pytest

from app.cli import run
from app.core.decoding.text_score import MIN_CHUNK, score_text
from app.core.errors import PromptError
from app.core.llama.engine import Engine

TEXT = (
    "Llama 3.1 405B is a large language model released by Meta in July 2024. It was "
    "trained on about fifteen trillion tokens of text, and with 405 billion parameters it "
    "was the largest openly available model of its time. The model understands and writes "
    "eight languages, follows instructions after post-training, and can read a context of "
    "128,000 tokens, about the length of a long novel, in a single prompt. Its weights "
    "are published under the Llama 3.1 Community License, which allows commercial use "
    "with conditions, such as a limit on monthly active users and an attribution notice."
)


def _reference(model_path: Path, ids: list[int], batch: int) -> np.ndarray:
    """llama-cpp-python's logits for every position of `ids`, in one eval call (which
    llama-cpp-python decodes in batches of `batch`)."""
    llm = llama_cpp.Llama(
        str(model_path),
        n_ctx=512,
        n_batch=batch,
        n_ubatch=batch,
        logits_all=True,
        flash_attn=True,
        verbose=False,
    )
    try:
        llm.eval(ids)
        return np.array(llm.scores[: len(ids)], dtype=np.float64)
    finally:
        llm.close()


def _logprobs_and_ranks(logits: np.ndarray, ids: list[int]) -> tuple[np.ndarray, list[int]]:
    peak = logits.max(axis=1)
    log_norm = peak + np.log(np.exp(logits - peak[:, None]).sum(axis=1))
    n = len(ids) - 1
    logprobs = np.array([logits[i, ids[i + 1]] - log_norm[i] for i in range(n)])
    ranks = [int((logits[i] > logits[i, ids[i + 1]]).sum()) + 1 for i in range(n)]
    return logprobs, ranks


def test_log_probabilities_and_ranks_match_llama_cpp_python(
    engine: Engine, model_path: Path
) -> None:
    result = score_text(engine, TEXT)
    ids = engine.tokenize_prompt(TEXT)
    assert len(result.tokens) == len(ids) - 1 > 2 * MIN_CHUNK  # three chunks
    assert [t.id for t in result.tokens] == ids[1:]
    got = [t.logprob for t in result.tokens]
    # In the same batch shape (chunks of 64) the numbers are llama.cpp's own, ranks too.
    logprobs, ranks = _logprobs_and_ranks(_reference(model_path, ids, MIN_CHUNK), ids)
    assert float(np.max(np.abs(np.array(got) - logprobs))) <= 1e-3
    assert [t.rank for t in result.tokens] == ranks
    # The whole text in one batch of 512 moves them a little (llama.cpp's numbers depend
    # on the batch shape), never the top token.
    logprobs, ranks = _logprobs_and_ranks(_reference(model_path, ids, 512), ids)
    assert float(np.mean(np.abs(np.array(got) - logprobs))) <= 0.01
    assert [t.rank == 1 for t in result.tokens] == [r == 1 for r in ranks]
    assert result.perplexity == pytest.approx(math.exp(-np.mean(got)))
    assert result.bits_per_byte == pytest.approx(-sum(got) / math.log(2) / len(TEXT.encode()))
    assert result.chunk == MIN_CHUNK
    assert all(t.top[0][2] >= t.top[-1][2] for t in result.tokens)


def test_score_json_and_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert run(["score", "--text", "The capital of France is Paris.", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    first = document["tokens"][0]
    assert set(first) == {"id", "piece", "logprob", "rank", "top"}
    assert first["piece"] == "The" and document["chunk"] == 64
    assert document["perplexity"] > 1 and document["bits_per_byte"] > 0
    assert run(["score", "--text", ""]) == 2
    assert "the text is empty" in capsys.readouterr().err


def test_a_text_longer_than_the_context_is_refused(engine: Engine) -> None:
    with pytest.raises(PromptError, match="text"):
        score_text(engine, "word " * (engine.n_ctx + 10))
