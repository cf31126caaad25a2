"""Downloads that fail at odd moments (found by an adversarial run against the fake Hub):
each ends in one clear message or a finished file, never a traceback, never a partial
file that cannot resume, and the retries say what the Hub answered."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest
from fakehub.gguf_files import tiny_gguf
from fakehub.server import FakeFile, FakeHub, FakeRepo, Fault

from app.core.atomic_file import write_atomic
from app.core.gguf.quant_files import HubFile
from app.core.hub import downloader as downloader_module
from app.core.hub.downloader import Downloader, DownloadError, DownloadProgress, UnsafePath
from app.core.hub.hub_client import HubClient, HubServerError
from app.core.library import verified_stamp

REPO = "acme/Tiny-GGUF"
NAME = "tiny-Q8_0.gguf"


def _setup(hub: FakeHub, models: Path) -> tuple[Downloader, HubFile, str]:
    downloader = Downloader(
        HubClient(hub.endpoint, token=False), models, backoff=0.01, hf_cache=models / "hf"
    )
    details = downloader.client.repo(REPO)
    return downloader, next(f for f in details.files if f.path == NAME), details.commit


def _served(hub: FakeHub) -> bytes:
    data = hub.repos[REPO].files[NAME].data
    assert data is not None
    return data


def test_a_300_character_file_name_is_refused_in_words(fake_hub: FakeHub, tmp_path: Path) -> None:
    long_name = "m" * 295 + ".gguf"
    fake_hub.add_repo(FakeRepo("acme/Long-GGUF", {long_name: FakeFile(tiny_gguf("Long"))}))
    downloader = Downloader(HubClient(fake_hub.endpoint, token=False), tmp_path)
    details = downloader.client.repo("acme/Long-GGUF")
    with pytest.raises(UnsafePath, match=r"300 characters\): longer than a file name may be"):
        downloader.download("acme/Long-GGUF", details.files[0], details.commit)
    assert fake_hub.gets_of(long_name) == []


def test_a_redirect_loop_is_named(fake_hub: FakeHub, tmp_path: Path) -> None:
    downloader, file, commit = _setup(fake_hub, tmp_path)
    fake_hub.arm(f"{REPO}/{NAME}", Fault("redirect-loop", times=100))
    with pytest.raises(DownloadError, match="redirects in a loop"):
        downloader.download(REPO, file, commit)
    fake_hub.faults.clear()
    assert downloader.download(REPO, file, commit).read_bytes() == _served(fake_hub)


def test_a_reply_marked_gzip_that_is_not_leaves_no_empty_file(
    fake_hub: FakeHub, tmp_path: Path
) -> None:
    downloader, file, commit = _setup(fake_hub, tmp_path)
    fake_hub.arm(f"{REPO}/{NAME}", Fault("gzip-lie"))
    with pytest.raises(DownloadError, match="says it is compressed, but it is not"):
        downloader.download(REPO, file, commit)
    assert not list(tmp_path.rglob("*.part"))  # no empty partial file left behind
    assert fake_hub.gets_of(NAME)[0].headers["Accept-Encoding"] == "identity"
    assert downloader.download(REPO, file, commit).read_bytes() == _served(fake_hub)


def test_a_full_disk_while_stamping_costs_a_hash_not_a_download(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    downloader, file, commit = _setup(fake_hub, tmp_path)

    def full(path: Path, data: str | bytes) -> None:
        if path.name.endswith(verified_stamp.STAMP_SUFFIX):
            raise OSError(errno.ENOSPC, "No space left on device")
        write_atomic(path, data)

    monkeypatch.setattr("app.core.state_file.write_atomic", full)
    path = downloader.download(REPO, file, commit)  # no ENOSPC traceback
    assert path.read_bytes() == _served(fake_hub)
    assert verified_stamp.read_stamp(path) is None
    monkeypatch.undo()
    gets = len(fake_hub.gets_of(NAME))
    assert downloader.download(REPO, file, commit) == path  # hashed, not fetched again
    assert len(fake_hub.gets_of(NAME)) == gets
    assert verified_stamp.read_stamp(path) is not None


def test_a_resume_answered_from_the_wrong_byte_starts_over_and_says_so(
    fake_hub: FakeHub, tmp_path: Path
) -> None:
    downloader, file, commit = _setup(fake_hub, tmp_path)
    served = _served(fake_hub)
    fake_hub.arm(f"{REPO}/{NAME}", Fault("drop", after=1_000_000))
    fake_hub.arm(f"{REPO}/{NAME}", Fault("range-from-zero"))
    notes: list[str] = []

    def progress(p: DownloadProgress) -> None:
        if p.note:
            notes.append(p.note)

    assert downloader.download(REPO, file, commit, progress).read_bytes() == served
    assert any("resumed at byte 0 instead of 1000000; starting the file over" in n for n in notes)


def test_retries_say_what_the_hub_answered(fake_hub: FakeHub, tmp_path: Path) -> None:
    downloader, file, commit = _setup(fake_hub, tmp_path)
    downloader.retries = 2
    fake_hub.arm(f"{REPO}/{NAME}", Fault("status", status=503, times=10))
    notes: list[str] = []
    with pytest.raises(HubServerError) as failure:
        downloader.download(REPO, file, commit, lambda p: notes.append(p.note or ""))
    assert [n for n in notes if n] == [
        "the Hub answered 503 Service Unavailable; retrying in 0 s (try 2 of 3)",
        "the Hub answered 503 Service Unavailable; retrying in 0 s (try 3 of 3)",
    ]
    assert "answered but kept failing (the Hub answered 503 Service Unavailable" in str(
        failure.value
    )
    assert "unreachable" not in str(failure.value)
    fake_hub.faults.clear()


def test_download_timeout_follows_the_hub_clients_variable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    client = HubClient("http://127.0.0.1:9", token=False)
    monkeypatch.setenv("HF_HUB_DOWNLOAD_TIMEOUT", "7.5")
    assert Downloader(client, tmp_path).timeout == 7.5
    monkeypatch.setenv("HF_HUB_DOWNLOAD_TIMEOUT", "nonsense")
    assert Downloader(client, tmp_path).timeout == downloader_module.download_timeout() == 30.0
