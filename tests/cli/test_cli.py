"""The headless CLI as a script would use it: JSON on stdout, exit 2 for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=300
    )


def test_generate_greedy_json() -> None:
    out = cli(
        "generate",
        "--model",
        "default",
        "--prompt",
        "The meaning of life is",
        "--mode",
        "greedy",
        "--max-tokens",
        "16",
        "--top",
        "5",
        "--json",
    )
    assert out.returncode == 0, out.stderr
    doc = json.loads(out.stdout)
    assert len(doc["steps"]) == 16
    assert doc["prompt_tokens"][0] == 2  # BOS
    for step in doc["steps"]:
        assert len(step["top"]) == 5
        ps = [t["p"] for t in step["top"]]
        assert ps == sorted(ps, reverse=True)
        assert step["top"][0]["id"] == step["id"]  # greedy picks the argmax
        assert step["p"] == pytest.approx(ps[0])
    assert doc["stop_reason"] == "max_tokens"
    assert doc["text"].startswith(" not defined")
    assert doc["stats"]["tokens_per_second"] > 0


def _generate_json(*options: str) -> dict[str, Any]:
    out = cli("generate", "--model", "default", "--prompt", "Once upon a time", *options, "--json")
    assert out.returncode == 0, out.stderr
    doc: dict[str, Any] = json.loads(out.stdout)
    return doc


def test_generate_beam_and_sample_json() -> None:
    beam = _generate_json("--mode", "beam", "--beam-width", "3", "--max-tokens", "6")
    assert len(beam["beams"]) >= 3
    assert [b["score"] for b in beam["beams"]] == sorted(
        (b["score"] for b in beam["beams"]), reverse=True
    )
    assert [s["id"] for s in beam["steps"]] == beam["beams"][0]["ids"]
    sample = _generate_json("--mode", "sample", "--seed", "4", "--max-tokens", "6")
    for step in sample["steps"]:
        assert step["id"] in [s["id"] for s in step["sample"]["survivors"]]


def test_tokenize_offsets_cover_input() -> None:
    text = "Byte pair encoding (also known as digram coding) 🦙 naïve"
    doc = json.loads(cli("tokenize", "--model", "default", "--text", text, "--json").stdout)
    data = text.encode("utf-8")
    assert doc["count"] == len(doc["tokens"])
    assert doc["tokens"][0]["start"] == doc["tokens"][0]["end"] == 0  # BOS
    assert b"".join(bytes.fromhex(t["bytes"]) for t in doc["tokens"]) == data
    for t in doc["tokens"]:
        assert data[t["start"] : t["end"]] == bytes.fromhex(t["bytes"])


def test_info_json() -> None:
    doc = json.loads(cli("info", "--model", "default", "--json").stdout)
    assert doc["architecture"] == "gemma3"
    assert doc["vocab_size"] == 262144
    assert doc["quantization"] == "Q4_K_M"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "/no/such/model.gguf"], "no such file"),
        (["--model", "NOT_GGUF"], "not a GGUF file"),
        (["--model", "TRUNCATED"], "truncated"),
        (["--model", "default", "--prompt", ""], "prompt is empty"),
        (["--model", "default", "--temperature", "-1"], "temperature"),
        (["--model", "default", "--top-p", "0"], "top-p"),
        (["--model", "default", "--top-p", "1.5"], "top-p"),
        (["--model", "default", "--mode", "beam", "--beam-width", "0"], "beam width"),
        (["--model", "default", "--ctx", "256", "--prompt", "word " * 600], "context holds"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    args: list[str], message: str, tmp_path: Path, model_path: Path
) -> None:
    not_gguf = tmp_path / "notes.gguf"
    not_gguf.write_text("hello")
    truncated = tmp_path / "cut.gguf"
    truncated.write_bytes(model_path.read_bytes()[:2_000_000])
    args = [
        str(not_gguf) if a == "NOT_GGUF" else str(truncated) if a == "TRUNCATED" else a
        for a in args
    ]
    if "--prompt" not in args:
        args += ["--prompt", "hi"]
    out = cli("generate", *args, "--json")
    assert out.returncode == 2
    assert out.stdout == ""
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    assert message in lines[0]
    assert "Traceback" not in out.stderr


def test_tokenize_bad_file(tmp_path: Path) -> None:
    out = cli("tokenize", "--model", "default", "--file", str(tmp_path / "missing.txt"))
    assert out.returncode == 2
    assert "cannot read" in out.stderr


def test_generate_seed_draws_the_seeds_stream() -> None:
    from app.core.decoding.sampler_chain import uniform_at

    doc = _generate_json("--mode", "sample", "--seed", "3", "--max-tokens", "6")
    assert [s["step"] for s in doc["steps"]] == [1, 2, 3, 4, 5, 6]
    assert [s["sample"]["uniform"] for s in doc["steps"]] == [uniform_at(3, k) for k in range(6)]
    assert all(0 < s["p_at_temperature"] <= 1 for s in doc["steps"])


def test_errors_are_json_with_json_and_a_line_without(capsys: pytest.CaptureFixture[str]) -> None:
    """Exit codes: 2 bad input or usage, 1 a failure outside (here an absent RPC worker);
    with --json the one error line is a JSON object a script can read."""
    import json as json_module

    from app.cli import run

    def code_of(args: list[str]) -> int:
        try:
            return run(args)
        except SystemExit as exc:  # usage errors end in argparse
            return int(exc.code or 0)

    cases = [
        (["generate", "--model", "default", "--prompt", ""], 2, "the prompt is empty"),
        (["generate", "--model", "default"], 2, "required: --prompt"),
        (["info", "--model", "/nonexistent/model.gguf"], 2, "model.gguf"),
        (["info", "--model", "default", "--rpc", "127.0.0.1:1"], 1, "no RPC worker answers"),
    ]
    for args, code, words in cases:
        assert code_of([*args, "--json"]) == code
        err = capsys.readouterr().err
        assert err.count("\n") == 1
        document = json_module.loads(err)
        assert document["exit_code"] == code and words in document["error"], document
        assert code_of(args) == code
        plain = capsys.readouterr().err
        assert plain.startswith("llm-playground: error: ") and words in plain


def test_version_and_a_console_script_for_the_command_line() -> None:
    """One version everywhere; `llm-playground` is a console program (its output reaches
    the terminal on Windows too), the windowed launcher is a GUI script beside it."""
    from importlib.metadata import entry_points

    from app.core.version import VERSION

    out = subprocess.run(
        [sys.executable, "-m", "app", "--version"], capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0 and out.stdout.strip() == f"llm-playground {VERSION}"
    console = {e.name: e.value for e in entry_points(group="console_scripts")}
    windowed = {e.name: e.value for e in entry_points(group="gui_scripts")}
    assert console["llm-playground"] == "app.__main__:main"
    assert windowed["llm-playground-window"] == "app.__main__:main"
    assert "llm-playground" not in windowed
