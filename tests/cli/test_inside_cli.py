"""`llm-playground lens` and `llm-playground attention`: the JSON the issue names, the
human tables, and one-line errors for input they cannot take."""

from __future__ import annotations

import json

import numpy as np
import pytest

from app.cli import run

PROMPT = "The capital of France is"


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = run(argv)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_lens_json_has_one_entry_per_layer_ending_in_the_models_choice(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code, out, err = _run(["lens", "--prompt", PROMPT, "--json"], capsys)
    assert code == 0, err
    document = json.loads(out)
    assert [t["piece"] for t in document["tokens"]][:2] == ["<bos>", "The"]
    assert document["position"] == len(document["tokens"]) - 1
    layers = document["layers"]
    assert [entry["layer"] for entry in layers] == list(range(1, 19))
    assert all(len(entry["top"]) == 5 for entry in layers)
    assert set(layers[-1]["top"][0]) == {"id", "piece", "p"}
    assert layers[-1]["top"][0]["id"] == document["chosen"]["id"]
    assert document["note"].startswith("logit lens (raw)")


def test_lens_table_and_a_position_out_of_range(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _err = _run(["lens", "--prompt", PROMPT, "--position", "4"], capsys)
    assert code == 0
    assert "the model chose “ is”" in out  # the text's own next token at position 4
    assert out.count("\nlayer ") == 18
    code, out, err = _run(["lens", "--prompt", PROMPT, "--position", "99"], capsys)
    assert code == 2 and out == ""
    assert err.strip() == (
        "llm-playground: error: --position must be 0 to 5 (the prompt has 6 tokens, BOS "
        "included), got 99"
    )


def test_attention_json_one_matrix_per_head(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["attention", "--prompt", PROMPT, "--json"], capsys)
    assert code == 0, err
    document = json.loads(out)
    n = len(document["tokens"])
    assert document["kv_head_of"] == [0, 0, 0, 0]
    assert len(document["layers"]) == 18
    for entry in document["layers"]:
        heads = np.array(entry["heads"])
        assert heads.shape == (4, n, n)
        assert np.allclose(heads.sum(axis=-1), 1.0, atol=1e-4)
        assert entry["sliding_window"] in (512, None)
    assert [e["sliding_window"] for e in document["layers"]][5] is None  # a global layer


def test_attention_refuses_a_long_prompt_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _run(["attention", "--prompt", "word " * 300], capsys)
    assert code == 2 and out == ""
    assert "reads prompts of up to 256 tokens" in err and len(err.strip().splitlines()) == 1
