"""Chosen vs rejected under a base and an instruct model: DPO's implicit reward from each
answer's log-probability, checked against llama-cpp-python on two random-weight models
that share a vocabulary; a model against itself gives a margin of exactly 0; models with
different vocabularies are refused."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import llama_cpp
import numpy as np
import pytest
from fakehub.gguf_files import loadable_tiny_gguf

from app.cli import run
from app.core.decoding.preference import VocabularyMismatch, compare_answers
from app.core.llama.engine import Engine

PROMPT = "Where is the nearest convenience store?"
CHOSEN = "It is two blocks north, next to the pharmacy, and it is open all night."
REJECTED = "Why would I know? Look it up yourself."
TINY_TEMPLATE = (
    "{% for m in messages %}<s>{{ m['content'] }}</s>{% endfor %}"
    "{% if add_generation_prompt %}<s>{% endif %}"
)


def _with_template(source: Path, target: Path, template: str) -> Path:
    tool = Path(sys.executable).with_name("gguf-new-metadata")
    subprocess.run(
        [str(tool), str(source), str(target), "--chat-template", template, "--force"],
        check=True,
        capture_output=True,
    )
    return target


def _reference_logps(path: Path, ids: list[int], start: int) -> float:
    """The answer's log p (ids[start:]) from llama-cpp-python's own logits."""
    llm = llama_cpp.Llama(
        str(path),
        n_ctx=256,
        n_batch=64,
        n_ubatch=64,
        logits_all=True,
        flash_attn=True,
        verbose=False,
    )
    try:
        llm.eval(ids)
        logits = np.array(llm.scores[: len(ids)], dtype=np.float64)
    finally:
        llm.close()
    peak = logits.max(axis=1)
    log_norm = peak + np.log(np.exp(logits - peak[:, None]).sum(axis=1))
    return float(sum(logits[i - 1, ids[i]] - log_norm[i - 1] for i in range(start, len(ids))))


def test_the_reward_equals_llama_cpp_pythons_on_two_random_models(tmp_path: Path) -> None:
    base = tmp_path / "tiny-base.gguf"
    base.write_bytes(loadable_tiny_gguf(seed=11, layers=2, embd=32))
    raw = tmp_path / "tiny-instruct-raw.gguf"
    raw.write_bytes(loadable_tiny_gguf(seed=12, layers=2, embd=32))
    instruct = _with_template(raw, tmp_path / "tiny-instruct.gguf", TINY_TEMPLATE)
    result = compare_answers(Engine, str(base), str(instruct), PROMPT, (CHOSEN, REJECTED), 0.1)
    with Engine(instruct) as engine:
        context = engine.chat_prompt_ids(PROMPT)
        formatted = [context + engine.vocab.tokenize(a, add_bos=False) for a in (CHOSEN, REJECTED)]
    rewards = []
    for ids, answer in zip(formatted, (result.chosen, result.rejected), strict=True):
        assert list(answer.ids) == ids[len(context) :]
        expected_base = _reference_logps(base, ids, len(context))
        expected_instruct = _reference_logps(instruct, ids, len(context))
        # Summed over the answer's tokens (bytes, for this tiny vocabulary): 1e-4 a token.
        tolerance = 1e-4 * len(answer.ids)
        assert answer.sum_base == pytest.approx(expected_base, abs=tolerance)
        assert answer.sum_instruct == pytest.approx(expected_instruct, abs=tolerance)
        rewards.append(0.1 * (expected_instruct - expected_base))
    assert result.margin == pytest.approx(rewards[0] - rewards[1], abs=1e-3)
    assert result.p_chosen == pytest.approx(1 / (1 + np.exp(-result.margin)))
    assert 0.0 < result.p_chosen < 1.0


def test_a_model_against_itself_gives_a_margin_of_exactly_zero(
    model_path: Path, chat_model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["reward", "--base", str(model_path), "--instruct", str(chat_model_path)]
    argv += ["--prompt", PROMPT, "--chosen", CHOSEN, "--rejected", REJECTED, "--json"]
    assert run(argv) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["margin"] == 0.0 and document["p_chosen"] == 0.5
    for side in ("chosen", "rejected"):
        assert document[side]["logp_base"] == document[side]["logp_instruct"] < 0
        assert document[side]["reward"] == 0.0
        assert all(t["log_ratio"] == 0.0 for t in document[side]["log_ratios"])


def test_models_with_different_vocabularies_are_refused(model_path: Path, tmp_path: Path) -> None:
    raw = tmp_path / "tiny-raw.gguf"
    raw.write_bytes(loadable_tiny_gguf(seed=3))
    instruct = _with_template(raw, tmp_path / "tiny-instruct.gguf", TINY_TEMPLATE)
    with pytest.raises(VocabularyMismatch, match="do not share their vocabulary"):
        compare_answers(Engine, str(model_path), str(instruct), PROMPT, (CHOSEN, REJECTED))
