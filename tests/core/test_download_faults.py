"""Downloads under faults, against the fake Hub: the library never holds a partial or
wrong file, and the download ends byte-identical once the network behaves."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from fakehub.server import FakeHub, Fault

from app.core.hub.downloader import ChecksumMismatch, Downloader
from app.core.hub.hub_client import HubClient
from app.core.library.library import Library

REPO = "acme/Tiny-GGUF"
NAME = "tiny-Q8_0.gguf"  # about 6 MB


def _library_is_clean(models: Path, served: bytes) -> None:
    library = Library(models, models / "no-hf-cache", models / "imported.json")
    for entry in library.entries():
        assert entry.path.read_bytes() == served, entry.path


def _served(hub: FakeHub) -> bytes:
    data = hub.repos[REPO].files[NAME].data
    assert data is not None
    return data


def _downloader(hub: FakeHub, models: Path, timeout: float = 30.0) -> Downloader:
    return Downloader(HubClient(hub.endpoint, token=False), models, timeout=timeout, backoff=0.01)


def test_many_drops_in_a_row_at_random_offsets(fake_hub: FakeHub, tmp_path: Path) -> None:
    rng = random.Random(7)
    size = len(_served(fake_hub))
    drops = 25
    for _ in range(drops):
        fake_hub.arm(f"{REPO}/{NAME}", Fault("drop", after=rng.randrange(1, size // drops)))
    downloader = _downloader(fake_hub, tmp_path)
    details = downloader.client.repo(REPO)
    file = next(f for f in details.files if f.path == NAME)
    path = downloader.download(REPO, file, details.commit)
    assert path.read_bytes() == _served(fake_hub)
    gets = fake_hub.gets_of(NAME)
    assert len(gets) == drops + 1
    offsets = [int(g.headers["Range"].split("=")[1].rstrip("-")) for g in gets[1:]]
    assert offsets == sorted(offsets) and offsets[0] > 0  # each resumed where it stopped
    print(f"\n{drops} connection drops injected, {len(gets)} requests")


def test_stall_times_out_and_resumes(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.arm(f"{REPO}/{NAME}", Fault("stall", after=1_000_000, delay=3.0))
    downloader = _downloader(fake_hub, tmp_path, timeout=0.5)
    details = downloader.client.repo(REPO)
    file = next(f for f in details.files if f.path == NAME)
    start = time.monotonic()
    path = downloader.download(REPO, file, details.commit)
    assert time.monotonic() - start < 3.0  # it did not wait the stall out
    assert path.read_bytes() == _served(fake_hub)
    assert "Range" in fake_hub.gets_of(NAME)[-1].headers


def test_lying_content_length_and_other_files(fake_hub: FakeHub, tmp_path: Path) -> None:
    served = _served(fake_hub)
    downloader = _downloader(fake_hub, tmp_path)
    details = downloader.client.repo(REPO)
    file = next(f for f in details.files if f.path == NAME)
    # A reply that says (and sends) half the bytes: the rest is fetched with Range.
    fake_hub.arm(f"{REPO}/{NAME}", Fault("short"))
    assert downloader.download(REPO, file, details.commit).read_bytes() == served
    _library_is_clean(tmp_path, served)
    # The server sends another file's bytes: rejected by sha256, never in the library.
    (tmp_path / "acme" / "Tiny-GGUF" / NAME).unlink()
    (tmp_path / "acme" / "Tiny-GGUF" / (NAME + ".verified.json")).unlink()
    fake_hub.arm(f"{REPO}/{NAME}", Fault("wrong", data=os.urandom(len(served))))
    with pytest.raises(ChecksumMismatch, match="rejected and removed"):
        downloader.download(REPO, file, details.commit)
    _library_is_clean(tmp_path, served)
    assert not list(tmp_path.rglob("*.part"))
    assert downloader.download(REPO, file, details.commit).read_bytes() == served


def test_killed_mid_download_then_restarted(fake_hub: FakeHub, tmp_path: Path) -> None:
    served = _served(fake_hub)
    env = {
        **os.environ,
        "HF_ENDPOINT": fake_hub.endpoint,
        "LLM_PLAYGROUND_DATA_DIR": str(tmp_path),
    }
    command = [sys.executable, "-m", "app", "models", "download", REPO, "--quant", "Q8_0"]
    fake_hub.arm(f"{REPO}/{NAME}", Fault("trickle", delay=0.02))
    part = tmp_path / "models" / "acme" / "Tiny-GGUF" / (NAME + ".part")
    with subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    ) as child:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and (not part.exists() or part.stat().st_size < 500_000):
            time.sleep(0.05)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
    kept = part.stat().st_size
    assert 0 < kept < len(served)
    _library_is_clean(tmp_path / "models", served)

    again = subprocess.run(command, env=env, capture_output=True, text=True, timeout=120)
    assert again.returncode == 0, again.stderr
    target = tmp_path / "models" / "acme" / "Tiny-GGUF" / NAME
    assert target.read_bytes() == served
    assert fake_hub.gets_of(NAME)[-1].headers["Range"] == f"bytes={kept}-"
