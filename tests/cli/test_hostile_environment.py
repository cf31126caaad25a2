"""A hostile machine around the CLI: a data folder that is a file, caches that cannot be
written, a library folder with a symlink loop, an output that is closed or full, a Hub
that answers nonsense. Each is one line on stderr and a clear exit code, never a
traceback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest


def _cli(
    *args: str, env: dict[str, str], shell_suffix: str = ""
) -> subprocess.CompletedProcess[str]:
    if shell_suffix:
        command = " ".join([sys.executable, "-m", "app", *args]) + " " + shell_suffix
        return subprocess.run(
            ["sh", "-c", command], capture_output=True, text=True, timeout=300, env=env
        )
    return subprocess.run(
        [sys.executable, "-m", "app", *args], capture_output=True, text=True, timeout=300, env=env
    )


def _one_line(out: subprocess.CompletedProcess[str]) -> str:
    assert "Traceback" not in out.stderr, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1, out.stderr
    return lines[0]


@pytest.fixture
def data_env(tmp_path: Path, model_path: Path) -> dict[str, str]:
    data = tmp_path / "data"
    (data / "models").mkdir(parents=True)
    os.link(model_path, data / "models" / model_path.name)
    return {**os.environ, "LLM_PLAYGROUND_DATA_DIR": str(data)}


def test_a_data_folder_that_is_a_file(tmp_path: Path) -> None:
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("x")
    env = {**os.environ, "LLM_PLAYGROUND_DATA_DIR": str(not_a_folder)}
    out = _cli("models", "list", env=env)
    assert out.returncode == 2
    assert "the data folder" in _one_line(out) and "LLM_PLAYGROUND_DATA_DIR" in out.stderr


def test_caches_that_cannot_be_written_are_skipped(data_env: dict[str, str]) -> None:
    data = Path(data_env["LLM_PLAYGROUND_DATA_DIR"])
    (data / "cache" / "loadable-models.json").mkdir(parents=True)  # a folder, not a file
    (data / "cache" / "file-hashes.json").mkdir()
    out = _cli("tokenize", "--model", "default", "--text", "hello", "--json", env=data_env)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout)["count"] >= 1


def test_a_library_with_a_symlink_loop_and_an_impossible_name(data_env: dict[str, str]) -> None:
    models = Path(data_env["LLM_PLAYGROUND_DATA_DIR"]) / "models"
    (models / "loop-a.gguf").symlink_to(models / "loop-b.gguf")
    (models / "loop-b.gguf").symlink_to(models / "loop-a.gguf")
    out = _cli("models", "list", "--json", env=data_env)
    assert out.returncode == 0, out.stderr
    names = [Path(m["path"]).name for m in json.loads(out.stdout)["models"]]
    assert any(name.startswith("gemma") for name in names)


@pytest.mark.parametrize(
    ("suffix", "message"),
    [(">&-", "standard output is closed"), ("> /dev/full", "No space left on device")],
)
def test_an_output_that_is_closed_or_full(
    data_env: dict[str, str], suffix: str, message: str
) -> None:
    out = _cli("info", "--model", "default", "--json", env=data_env, shell_suffix=suffix)
    assert out.returncode == 1
    assert message in _one_line(out)


class _NonsenseHub(BaseHTTPRequestHandler):
    """Answers every API call with JSON of the wrong shape."""

    def do_GET(self) -> None:
        if self.path.startswith("/api/models/"):
            body = {"id": None, "siblings": [{"rfilename": 7, "size": "many"}]}
        else:
            body = {"not": "a list"}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *_args: object) -> None:
        pass


@pytest.fixture
def nonsense_hub() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _NonsenseHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_a_hub_that_answers_nonsense(nonsense_hub: str, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "HF_ENDPOINT": nonsense_hub,
        "HF_HOME": str(tmp_path / "hf"),
        "LLM_PLAYGROUND_DATA_DIR": str(tmp_path / "data"),
    }
    env.pop("HF_HUB_OFFLINE", None)
    for args in (("models", "search", "qwen"), ("models", "files", "acme/model")):
        out = _cli(*args, env=env)
        assert out.returncode == 2, out.stderr
        assert "answered something this app does not understand" in _one_line(out)
