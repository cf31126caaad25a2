"""The Hugging Face cache is shared: a file already there is used, not downloaded again;
downloads can go there; deleting a model never takes a blob another snapshot links to;
llama.cpp's own download folder is listed too."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from fakehub.server import FakeHub
from huggingface_hub import scan_cache_dir, try_to_load_from_cache

from app.core.gguf.quant_files import HubFile
from app.core.hub.downloader import Downloader
from app.core.hub.hub_client import HubClient
from app.core.library.library import Library

REPO = "acme/Tiny-GGUF"
NAME = "tiny-Q8_0.gguf"


def _put_in_cache(cache: Path, commit: str, name: str, data: bytes) -> Path:
    """A file as huggingface_hub stores it: a blob named by its sha256, a snapshot link."""
    folder = cache / ("models--" + REPO.replace("/", "--"))
    blob = folder / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    link = folder / "snapshots" / commit / name
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    (folder / "refs").mkdir(exist_ok=True)
    (folder / "refs" / "main").write_text(commit)
    return link


def _served(hub: FakeHub, name: str = NAME) -> bytes:
    data = hub.repos[REPO].files[name].data
    assert data is not None
    return data


def _library(tmp_path: Path, cache: Path) -> Library:
    return Library(tmp_path / "models", cache, tmp_path / "imported.json", tmp_path / "llama")


def _on_the_hub(hub: FakeHub) -> tuple[HubClient, str, HubFile]:
    """A client of the fake Hub, the repository's commit and the Q8_0 file."""
    client = HubClient(hub.endpoint, token=False)
    details = client.repo(REPO)
    return client, details.commit, next(f for f in details.files if f.path == NAME)


def test_a_file_in_the_cache_is_used_without_asking_for_it(
    fake_hub: FakeHub, tmp_path: Path
) -> None:
    cache = tmp_path / "hf"
    client, commit, file = _on_the_hub(fake_hub)
    link = _put_in_cache(cache, commit, NAME, _served(fake_hub))
    downloader = Downloader(client, tmp_path / "models", hf_cache=cache)
    assert downloader.download(REPO, file, commit) == link
    assert fake_hub.gets_of(NAME) == []  # not one byte asked for
    assert not (tmp_path / "models").exists() or not list((tmp_path / "models").rglob("*.gguf"))


def test_downloads_can_be_kept_in_the_cache_where_other_tools_see_them(
    fake_hub: FakeHub, tmp_path: Path
) -> None:
    cache = tmp_path / "hf"
    client, commit, file = _on_the_hub(fake_hub)
    downloader = Downloader(client, tmp_path / "models", hf_cache=cache, into_hf_cache=True)
    path = downloader.download(REPO, file, commit)
    assert path.read_bytes() == _served(fake_hub)
    assert path.is_symlink() and path.resolve().name == file.sha256
    assert try_to_load_from_cache(REPO, NAME, cache_dir=cache) == str(path)
    (repo,) = scan_cache_dir(cache).repos
    assert repo.repo_id == REPO and repo.size_on_disk == file.size
    entries = _library(tmp_path, cache).entries()
    assert [(e.source, e.repo_id) for e in entries] == [("hf-cache", REPO)]
    # Asked again (the app's own folder or the cache): nothing is fetched.
    gets = len(fake_hub.gets_of(NAME))
    plain = Downloader(client, tmp_path / "models", hf_cache=cache)
    assert plain.download(REPO, file, commit) == path
    assert len(fake_hub.gets_of(NAME)) == gets


def test_deleting_keeps_a_blob_another_snapshot_links_to(fake_hub: FakeHub, tmp_path: Path) -> None:
    cache = tmp_path / "hf"
    data = _served(fake_hub)
    old = _put_in_cache(cache, "a" * 40, NAME, data)
    new = _put_in_cache(cache, "b" * 40, NAME, data)  # the same blob, linked twice
    readme = _put_in_cache(cache, "b" * 40, "README.md", b"# Tiny\n")
    blob = old.resolve()
    library = _library(tmp_path, cache)
    (entry,) = [e for e in library.entries() if e.path.name == NAME]  # one file, one entry
    assert library.remove(entry) == 0  # the other snapshot still links the blob
    assert [p.is_symlink() for p in (old, new)].count(True) == 1
    assert blob.read_bytes() == data and readme.read_bytes() == b"# Tiny\n"
    (left,) = [e for e in library.entries() if e.path.name == NAME]
    assert library.remove(left) == len(data)  # the last link: now the blob goes
    assert not blob.exists()
    assert readme.read_bytes() == b"# Tiny\n"  # the other file of that snapshot stays


def test_a_snapshot_holding_only_the_model_goes_whole(fake_hub: FakeHub, tmp_path: Path) -> None:
    cache = tmp_path / "hf"
    link = _put_in_cache(cache, "c" * 40, NAME, _served(fake_hub))
    library = _library(tmp_path, cache)
    (entry,) = library.entries()
    library.remove(entry)
    assert not link.parent.exists()  # delete_revisions: the snapshot folder and its ref
    assert not (link.parents[2] / "refs" / "main").exists()


def test_llama_cpps_own_downloads_are_listed(tmp_path: Path, model_path: Path) -> None:
    llama = tmp_path / "llama"
    llama.mkdir()
    os.link(model_path, llama / "unsloth_gemma-3-270m-it-GGUF_gemma-3-270m-it-Q4_K_M.gguf")
    library = Library(tmp_path / "models", tmp_path / "hf", tmp_path / "imported.json", llama)
    (entry,) = library.entries()
    assert entry.source == "llama-cache" and entry.architecture == "gemma3"
    assert entry.deletable


def test_an_unfinished_download_into_the_cache_resumes_there(
    fake_hub: FakeHub, tmp_path: Path
) -> None:
    from app.core.gguf.quant_files import group_files
    from app.core.hub.pending_downloads import pending, remember

    cache, models = tmp_path / "hf", tmp_path / "models"
    client, commit, file = _on_the_hub(fake_hub)
    (group,) = [g for g in group_files([file])]
    remember(models, REPO, commit, group, into_hf_cache=True)
    blob = cache / f"models--{REPO.replace('/', '--')}" / "blobs" / str(file.sha256)
    blob.parent.mkdir(parents=True)
    blob.with_name(blob.name + ".incomplete").write_bytes(_served(fake_hub)[:1000])
    (item,) = pending(models)
    assert item.into_hf_cache and item.bytes_on_disk(models, cache) == 1000
    downloader = Downloader(client, models, hf_cache=cache, into_hf_cache=item.into_hf_cache)
    path = downloader.download(REPO, file, commit)
    assert path.read_bytes() == _served(fake_hub)
    assert fake_hub.gets_of(NAME)[-1].headers["Range"] == "bytes=1000-"  # resumed, not anew
