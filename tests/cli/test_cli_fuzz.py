"""Hostile input on the command line: every numeric flag with extreme, negative,
non-finite and non-numeric values, and text that is not UTF-8. Each ends with exit 0 or
2 and, on error, one line on stderr; never a traceback."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from app.cli import run

BASE = ["generate", "--model", "default", "--prompt", "Hi", "--max-tokens", "2", "--ctx", "64"]
FLAGS = {
    "--max-tokens": "sample",
    "--temperature": "sample",
    "--top-k": "sample",
    "--top-p": "sample",
    "--min-p": "sample",
    "--seed": "sample",
    "--beam-width": "beam",
    "--length-penalty": "beam",
    "--top": "greedy",
    "--ctx": "greedy",
}
VALUES = [
    "0",
    "-1",
    "1000",
    "-1000",
    "1e308",
    "-1e308",
    "inf",
    "-inf",
    "nan",
    "99999999999999999999",
    "abc",
    "",
    "0x10",
    "2.5",
]


def _run(argv: list[str], capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    try:
        code = run(argv)
    except SystemExit as exc:  # argparse's own usage errors
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _with(flag: str, value: str) -> list[str]:
    argv = [*BASE, "--mode", FLAGS[flag]]
    if flag in ("--max-tokens", "--ctx"):  # replace the base's value
        index = argv.index(flag)
        return [*argv[:index], flag, value, *argv[index + 2 :]]
    return [*argv, flag, value]


@pytest.mark.parametrize("flag", list(FLAGS))
def test_numeric_flags_never_end_in_a_traceback(
    flag: str, capsys: pytest.CaptureFixture[str]
) -> None:
    for value in VALUES:
        code, out, err = _run(_with(flag, value), capsys)
        assert code in (0, 2), (flag, value, code, err)
        if code == 2:
            lines = err.strip().splitlines()
            assert len(lines) == 1, (flag, value, err)
            assert lines[0].startswith("llm-playground: error:"), (flag, value, err)
            assert "Traceback" not in err
        else:
            # A finished run's summary: 1 or 2 tokens, or (a large --max-tokens, sampled
            # without a seed) as many as came before the context filled or the model ended.
            last = out.strip().splitlines()[-1]
            assert re.fullmatch(r"\[\d+ tokens, .*\]", last), (flag, value, last)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("1000", "length penalty must be between -10 and 10"),
        ("1e308", "length penalty must be between"),
        ("-1000", "length penalty must be between"),
        ("-1e308", "length penalty must be between"),
    ],
)
def test_length_penalty_out_of_range(
    value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # "=" because argparse reads "-1e308" alone as an option.
    code, _out, err = _run([*BASE, "--mode", "beam", f"--length-penalty={value}"], capsys)
    assert code == 2 and message in err


def test_infinite_temperature_says_finite(capsys: pytest.CaptureFixture[str]) -> None:
    code, _out, err = _run([*BASE, "--mode", "sample", "--temperature", "inf"], capsys)
    assert code == 2
    assert "temperature must be a finite number" in err


def test_text_that_is_not_utf8_in_process(capsys: pytest.CaptureFixture[str]) -> None:
    # How Python hands over argv bytes that are not UTF-8 (PEP 383).
    bad = b"ab\xfe\xffcd".decode("utf-8", "surrogateescape")
    for argv in (
        ["generate", "--model", "default", "--prompt", bad, "--max-tokens", "1"],
        ["tokenize", "--model", "default", "--text", bad],
        ["bpe", "--model", "default", "--text", bad],
        [*BASE, "--stop", bad],
    ):
        code, out, err = _run(argv, capsys)
        assert code == 2, (argv, err)
        assert out == ""
        assert "is not valid UTF-8 text (byte 0xfe at character 3)" in err, err


@pytest.mark.parametrize(
    "argv",
    [
        [b"generate", b"--model", b"default", b"--prompt", b"\xff", b"--max-tokens", b"1"],
        [b"tokenize", b"--model", b"default", b"--text", b"ab\xfe\xffcd"],
    ],
)
def test_text_that_is_not_utf8_from_a_shell(argv: list[bytes]) -> None:
    out = subprocess.run(
        [sys.executable.encode(), b"-m", b"app", *argv], capture_output=True, timeout=300
    )
    assert out.returncode == 2
    err = out.stderr.decode("utf-8", "replace").strip().splitlines()
    assert len(err) == 1 and "not valid UTF-8" in err[0]
    assert b"Traceback" not in out.stderr
