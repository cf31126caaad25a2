"""Downloads from the fake Hub: progress, resume with Range, verification, refusals."""

from __future__ import annotations

import itertools
import os
import threading
from pathlib import Path

import pytest
from fakehub.server import FakeHub, Fault

from app.core.gguf.quant_files import HubFile, group_files
from app.core.hub.downloader import (
    ChecksumMismatch,
    DiskFull,
    DownloadCancelled,
    Downloader,
    DownloadProgress,
    UnsafePath,
    safe_target,
)
from app.core.hub.hub_client import FileNotOnHub, HubClient, RepoNotFound
from app.core.library.verified_stamp import read_stamp

REPO = "acme/Tiny-GGUF"
NAME = "tiny-Q4_K_M.gguf"


def _setup(hub: FakeHub, models: Path) -> tuple[Downloader, HubFile, str]:
    client = HubClient(hub.endpoint, token=False)
    details = client.repo(REPO)
    file = next(f for f in details.files if f.path == NAME)
    return Downloader(client, models, backoff=0.01), file, details.commit


def _served(hub: FakeHub, name: str = NAME) -> bytes:
    data = hub.repos[REPO].files[name].data
    assert data is not None
    return data


def test_download_reports_progress_and_verifies(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.arm(f"{REPO}/{NAME}", Fault("trickle", delay=0.004, times=1))
    downloader, file, commit = _setup(fake_hub, tmp_path)
    seen: list[DownloadProgress] = []
    path = downloader.download(REPO, file, commit, seen.append)
    assert path == tmp_path / "acme" / "Tiny-GGUF" / NAME
    assert path.read_bytes() == _served(fake_hub)
    assert len(seen) >= 3 and seen[-1].done == seen[-1].total == file.size
    assert all(a.done <= b.done for a, b in itertools.pairwise(seen))
    assert any(p.speed > 0 and p.eta is not None for p in seen)
    stamp = read_stamp(path)
    assert stamp is not None and stamp["sha256"] == file.sha256 and stamp["repo_id"] == REPO
    # Already there and verified: no second transfer.
    before = len(fake_hub.gets_of(NAME))
    assert downloader.download(REPO, file, commit) == path
    assert len(fake_hub.gets_of(NAME)) == before


def test_dropped_connection_resumes_with_range(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.arm(f"{REPO}/{NAME}", Fault("drop", after=700_000))
    downloader, file, commit = _setup(fake_hub, tmp_path)
    path = downloader.download(REPO, file, commit)
    assert path.read_bytes() == _served(fake_hub)
    gets = fake_hub.gets_of(NAME)
    assert len(gets) == 2
    assert "Range" not in gets[0].headers
    assert gets[1].headers["Range"] == "bytes=700000-"
    assert not path.with_name(NAME + ".part").exists()


def test_cancel_keeps_the_part_and_resumes_later(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.arm(f"{REPO}/{NAME}", Fault("trickle", delay=0.01))
    downloader, file, commit = _setup(fake_hub, tmp_path)
    cancel = threading.Event()

    def progress(p: DownloadProgress) -> None:
        if p.done > 200_000:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="resumes later"):
        downloader.download(REPO, file, commit, progress, cancel)
    part = tmp_path / "acme" / "Tiny-GGUF" / (NAME + ".part")
    kept = part.stat().st_size
    assert 200_000 < kept < file.size
    assert not part.with_name(NAME).exists()
    # A new downloader, as after an app restart, continues from the byte on disk.
    again, _, _ = _setup(fake_hub, tmp_path)
    path = again.download(REPO, file, commit)
    assert path.read_bytes() == _served(fake_hub)
    assert fake_hub.gets_of(NAME)[-1].headers["Range"] == f"bytes={kept}-"


def test_wrong_bytes_are_rejected_and_removed(fake_hub: FakeHub, tmp_path: Path) -> None:
    data = _served(fake_hub)
    fake_hub.arm(f"{REPO}/{NAME}", Fault("wrong", data=bytes(len(data))))
    downloader, file, commit = _setup(fake_hub, tmp_path)
    with pytest.raises(ChecksumMismatch, match="rejected and removed"):
        downloader.download(REPO, file, commit)
    assert not list(tmp_path.rglob("*.gguf*"))
    # The next try gets the right file.
    assert downloader.download(REPO, file, commit).read_bytes() == data


@pytest.mark.parametrize("status", [500, 503, 429])
def test_server_errors_and_rate_limits_are_retried(
    fake_hub: FakeHub, tmp_path: Path, status: int
) -> None:
    fake_hub.arm(f"{REPO}/{NAME}", Fault("status", status=status, times=2))
    downloader, file, commit = _setup(fake_hub, tmp_path)
    assert downloader.download(REPO, file, commit).read_bytes() == _served(fake_hub)
    assert len(fake_hub.gets_of(NAME)) == 3


def test_split_model_downloads_every_shard(fake_hub: FakeHub, tmp_path: Path) -> None:
    client = HubClient(fake_hub.endpoint, token=False)
    details = client.repo(REPO)
    split = next(g for g in group_files(details.files) if g.shards_expected == 2)
    seen: list[DownloadProgress] = []
    paths = Downloader(client, tmp_path).download_group(REPO, split, details.commit, seen.append)
    assert [p.name for p in paths] == [
        "tiny-F16-00001-of-00002.gguf",
        "tiny-F16-00002-of-00002.gguf",
    ]
    assert seen[-1].done == seen[-1].total == split.size
    assert {p.file_index for p in seen} == {1, 2}


def test_persistent_server_errors_give_up_with_a_clear_message(
    fake_hub: FakeHub, tmp_path: Path
) -> None:
    from app.core.hub.hub_client import HubServerError

    fake_hub.arm(f"{REPO}/{NAME}", Fault("status", status=502, times=100))
    downloader, file, commit = _setup(fake_hub, tmp_path)
    downloader.retries = 2
    with pytest.raises(
        HubServerError,
        match=r"kept failing \(the Hub answered 502 Bad Gateway every time\); retry later",
    ):
        downloader.download(REPO, file, commit)
    assert len(fake_hub.gets_of(NAME)) == 3


def test_missing_file_and_repo(fake_hub: FakeHub, tmp_path: Path) -> None:
    downloader, _, commit = _setup(fake_hub, tmp_path)
    with pytest.raises(FileNotOnHub):
        downloader.download(REPO, HubFile("gone-Q4_K_M.gguf", 10, "0" * 64), commit)
    with pytest.raises(RepoNotFound):
        downloader.download("acme/Nope", HubFile("x.gguf", 10, "0" * 64), commit)
    assert not list(tmp_path.rglob("*.gguf"))


@pytest.mark.parametrize(
    "name", ["../evil.gguf", "/etc/evil.gguf", "a/../../evil.gguf", "a\\..\\evil.gguf", ""]
)
def test_traversal_names_are_refused(tmp_path: Path, name: str) -> None:
    with pytest.raises(UnsafePath, match="refused"):
        safe_target(tmp_path, REPO, name)


def test_traversal_repo_ids_are_refused(tmp_path: Path) -> None:
    for repo in ("../x", "a/..", "a/b/c", "..\\x/y"):
        with pytest.raises(UnsafePath):
            safe_target(tmp_path, repo, "m.gguf")


def test_full_disk_keeps_the_partial_file(fake_hub: FakeHub, tmp_path: Path) -> None:
    downloader, file, commit = _setup(fake_hub, tmp_path)
    part = tmp_path / "acme" / "Tiny-GGUF" / (NAME + ".part")
    part.parent.mkdir(parents=True)
    os.symlink("/dev/full", part)  # every write fails with ENOSPC, as on a full disk
    with pytest.raises(DiskFull, match=r"disk is full.*partial file is kept"):
        downloader.download(REPO, file, commit)
    assert part.is_symlink()
    assert not part.with_name(NAME).exists()


def test_pending_records_survive_restarts_and_refuse_bad_names(tmp_path: Path) -> None:
    import json

    from app.core.gguf.quant_files import QuantGroup
    from app.core.hub.pending_downloads import forget, pending, remember

    group = QuantGroup("Q4_K_M", [HubFile(NAME, 1000, "a" * 64)])
    record = remember(tmp_path, REPO, "abc123", group)
    part = tmp_path / "acme" / "Tiny-GGUF" / (NAME + ".part")
    part.write_bytes(b"x" * 300)
    (item,) = pending(tmp_path)
    assert (item.repo_id, item.revision, item.group.files) == (REPO, "abc123", group.files)
    assert item.bytes_on_disk(tmp_path) == 300
    forget(tmp_path, REPO, group)
    assert pending(tmp_path) == [] and not record.exists()
    # A record naming a file outside the models folder is dropped, never followed.
    record.write_text(
        json.dumps(
            {
                "repo_id": REPO,
                "revision": "x",
                "quant": "Q4_K_M",
                "shards_expected": 1,
                "files": [{"path": "../../evil.gguf", "size": 1, "sha256": None}],
            }
        ),
        encoding="utf-8",
    )
    assert pending(tmp_path) == [] and not record.exists()
