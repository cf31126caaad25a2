"""Hundreds of broken GGUF files through `info`, `generate` and the window's open path:
each is a clear error (exit 2, one line) or works; never a crash, hang or traceback.

LLM_PLAYGROUND_FUZZ=full runs every case through `generate` and 600 random byte-flip
cases; the default runs every case through `info` and a third of them through
`generate` (all the ones the Python reader accepts, which reach llama.cpp, included).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fakehub.broken_gguf import cases
from fakehub.gguf_files import loadable_tiny_gguf

from app.cli import run
from app.core.errors import PlaygroundError
from app.core.gguf.gguf_file import read_gguf

FULL = os.environ.get("LLM_PLAYGROUND_FUZZ") == "full"


def _cli(*args: str) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = run(list(args))
    return code, err.getvalue()


@pytest.fixture(scope="module")
def broken(tmp_path_factory: pytest.TempPathFactory) -> list[tuple[str, Path]]:
    folder = tmp_path_factory.mktemp("broken-gguf")
    files = []
    base = loadable_tiny_gguf()
    generated = list(cases(base, random_flips=600 if FULL else 60))
    generated.append(("crashes-llama-cpp", loadable_tiny_gguf(byte_tokens=False)))
    for index, (name, data) in enumerate(generated):
        path = folder / f"{index:04d}.gguf"
        path.write_bytes(data)
        files.append((name, path))
    return files


def test_every_broken_file_is_a_clear_error(broken: list[tuple[str, Path]]) -> None:
    counts = {"files": len(broken), "reader accepted": 0, "generated": 0, "refused": 0}
    crashes_contained = []
    for index, (name, path) in enumerate(broken):
        code, err = _cli("info", "--model", str(path), "--json")
        assert code in (0, 2), name
        if code == 2:
            # --json: the one line is a JSON object
            assert err.count("\n") == 1 and err.startswith("{"), (name, err)
            assert json.loads(err)["exit_code"] == 2, name
        try:
            read_gguf(path)
            accepted = True
            counts["reader accepted"] += 1
        except PlaygroundError:
            accepted = False
        if not (FULL or accepted or index % 3 == 0):
            continue
        code, err = _cli("generate", "--model", str(path), "--prompt", "w1", "--max-tokens", "2")
        assert code in (0, 2), (name, err)
        if code == 2:
            counts["refused"] += 1
            assert err.count("\n") == 1 and err.startswith("llm-playground: error: "), name
            if "llama.cpp crashed" in err:
                crashes_contained.append(name)
        else:
            counts["generated"] += 1
    print(f"\nfuzzed models: {counts}; llama.cpp crashes contained: {len(crashes_contained)}")
    assert "crashes-llama-cpp" in crashes_contained
    assert counts["files"] >= 400 if FULL else counts["files"] >= 350


def test_cli_process_exits_2_with_one_line(broken: list[tuple[str, Path]]) -> None:
    chosen = [
        p
        for n, p in broken
        if n in {"crashes-llama-cpp", "magic-b'GGML'", "truncated-at-24", "tensor-count-1"}
    ]
    assert len(chosen) == 4
    for path in chosen:
        done = subprocess.run(
            [sys.executable, "-m", "app", "generate", "--model", str(path), "--prompt", "w1"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 2, done.stderr
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr
