"""`llm-playground models ...` against the fake Hub (HF_ENDPOINT points the client at it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from fakehub.server import FakeHub, Fault


def _run(hub: FakeHub, data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "HF_ENDPOINT": hub.endpoint,
        "HF_HOME": str(data_dir / "hf-home"),
        "LLM_PLAYGROUND_DATA_DIR": str(data_dir),
    }
    env.pop("HF_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "app", "models", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )


def test_search_files_download_list(fake_hub: FakeHub, tmp_path: Path) -> None:
    found = _run(fake_hub, tmp_path, "search", "gguf", "--sort", "likes", "--json")
    assert found.returncode == 0, found.stderr
    repos = [m["repo_id"] for m in json.loads(found.stdout)["models"]]
    assert repos == ["acme/Gated-GGUF", "acme/Tiny-GGUF", "acme/Popular-GGUF"]

    files = json.loads(_run(fake_hub, tmp_path, "files", "acme/Tiny-GGUF", "--json").stdout)
    assert files["groups"][0]["quant"] == "Q4_K_M" and files["groups"][0]["recommended"]

    got = _run(fake_hub, tmp_path, "download", "acme/Tiny-GGUF", "--quant", "q8_0", "--json")
    assert got.returncode == 0, got.stderr
    assert got.stderr == ""  # no progress when stderr is not a terminal
    result = json.loads(got.stdout)
    path = Path(result["path"])
    assert path.read_bytes() == fake_hub.repos["acme/Tiny-GGUF"].files["tiny-Q8_0.gguf"].data
    assert path.is_relative_to(tmp_path / "models")

    listed = json.loads(_run(fake_hub, tmp_path, "list", "--json").stdout)["models"]
    assert {m["path"] for m in listed} >= {str(path)}
    mine = next(m for m in listed if m["path"] == str(path))
    assert (mine["quantization"], mine["architecture"], mine["source"]) == (
        "Q8_0",
        "llama",
        "downloaded",
    )


def test_errors_are_one_line_exit_2(fake_hub: FakeHub, tmp_path: Path) -> None:
    for args, message in [
        (("files", "acme/Nope-GGUF"), "no such model repository"),
        (("download", "acme/Gated-GGUF"), "is gated"),
        (("download", "acme/Tiny-GGUF", "--quant", "Q3_K_S"), "has no Q3_K_S file"),
        (("search", "--limit", "0"), "--limit must be at least 1"),
        (("download", "acme"), "“acme” is not a repository id: write owner/name"),
        (("files", "acme/Tiny-GGUF/extra"), "is not a repository id"),
    ]:
        result = _run(fake_hub, tmp_path, *args)
        assert result.returncode == 2, (args, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, result.stderr)


def test_a_search_with_no_match_says_so(fake_hub: FakeHub, tmp_path: Path) -> None:
    none = _run(fake_hub, tmp_path, "search", "no-such-model-anywhere")
    assert none.returncode == 0, none.stderr
    assert none.stdout == "No GGUF repositories on the Hub match “no-such-model-anywhere”.\n"
    empty = json.loads(_run(fake_hub, tmp_path, "search", "no-such-model", "--json").stdout)
    assert empty == {"models": []}


def test_a_download_on_a_terminal_shows_a_progress_bar(fake_hub: FakeHub, tmp_path: Path) -> None:
    import fcntl
    import pty
    import struct
    import termios

    env = {
        **os.environ,
        "HF_ENDPOINT": fake_hub.endpoint,
        "HF_HOME": str(tmp_path / "hf-home"),
        "LLM_PLAYGROUND_DATA_DIR": str(tmp_path),
    }
    env.pop("HF_TOKEN", None)
    # Slow enough for the downloader to report progress along the way.
    fake_hub.arm("acme/Tiny-GGUF/tiny-Q8_0.gguf", Fault("stall", after=1 << 20, delay=1.0))
    controller, terminal = pty.openpty()
    # A terminal 100 columns wide (a new pseudo-terminal has none: no bar fits).
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
    with subprocess.Popen(
        [sys.executable, "-m", "app", "models", "download", "acme/Tiny-GGUF", "--quant", "q8_0"],
        stdout=subprocess.PIPE,
        stderr=terminal,
        env=env,
    ) as download:
        os.close(terminal)
        seen = b""
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # the terminal closed with the process
                break
            if not chunk:
                break
            seen += chunk
        download.wait(timeout=120)
    os.close(controller)
    assert download.returncode == 0
    text = seen.decode("utf-8", "replace")
    assert "tiny-Q8_0.gguf: 100%" in text and "5.73M/5.73M" in text, text[-400:]


def test_files_shows_whole_paths_and_names_cannot_hide_control_characters(
    fake_hub: FakeHub, tmp_path: Path
) -> None:
    from fakehub.gguf_files import tiny_gguf
    from fakehub.server import FakeFile, FakeRepo

    sneaky = "evil\nQ8_0\u202egguf.Q4_K_M.gguf"  # a newline and a right-to-left override
    fake_hub.add_repo(
        FakeRepo(
            "acme/Odd-GGUF",
            {"sub/dir/odd-Q8_0.gguf": FakeFile(tiny_gguf()), sneaky: FakeFile(tiny_gguf(seed=5))},
        )
    )
    out = _run(fake_hub, tmp_path, "files", "acme/Odd-GGUF")
    assert out.returncode == 0, out.stderr
    lines = [line.strip() for line in out.stdout.splitlines()]
    assert "sub/dir/odd-Q8_0.gguf" in lines  # the whole path, as --file takes it
    assert "\u202e" not in out.stdout and "evil\\nQ8_0\\u202egguf" in out.stdout
    assert all(not line.startswith("Q8_0") for line in out.stdout.splitlines())


def test_downloads_kept_in_the_hf_cache_on_request(fake_hub: FakeHub, tmp_path: Path) -> None:
    got = _run(
        fake_hub, tmp_path, "download", "acme/Tiny-GGUF", "--quant", "Q8_0", "--hf-cache", "--json"
    )
    assert got.returncode == 0, got.stderr
    path = Path(json.loads(got.stdout)["path"])
    assert path.is_relative_to(tmp_path / "hf-home" / "hub")
    assert "/snapshots/" in str(path) and path.is_symlink()
    again = _run(fake_hub, tmp_path, "download", "acme/Tiny-GGUF", "--quant", "Q8_0", "--json")
    assert Path(json.loads(again.stdout)["path"]) == path  # found in the cache, not fetched
    assert len(fake_hub.gets_of("tiny-Q8_0.gguf")) == 1
