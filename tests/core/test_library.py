"""The local library: downloaded, Hugging Face cache and imported models; delete frees space."""

from __future__ import annotations

import shutil
from pathlib import Path

from fakehub.server import FakeHub

from app.core.gguf.quant_files import group_files
from app.core.hub.downloader import Downloader
from app.core.hub.hub_client import HubClient
from app.core.library.library import Library


def _library(tmp_path: Path) -> Library:
    return Library(tmp_path / "models", tmp_path / "hf-cache", tmp_path / "imported.json")


def test_sources_sizes_and_headers(fake_hub: FakeHub, tmp_path: Path) -> None:
    from huggingface_hub import hf_hub_download

    library = _library(tmp_path)
    client = HubClient(fake_hub.endpoint, token=False)
    details = client.repo("acme/Tiny-GGUF")
    groups = group_files(details.files)
    downloader = Downloader(client, library.models_dir)
    downloader.download_group("acme/Tiny-GGUF", groups[0], details.commit)  # Q4_K_M
    downloader.download_group("acme/Tiny-GGUF", groups[1], details.commit)  # F16, 2 shards
    cached = hf_hub_download(
        "acme/Popular-GGUF",
        "popular-Q4_0.gguf",
        endpoint=fake_hub.endpoint,
        cache_dir=library.hf_cache,
        token=False,
    )
    outside = tmp_path / "elsewhere" / "mine-Q8_0.gguf"
    outside.parent.mkdir()
    shutil.copy(library.models_dir / "acme" / "Tiny-GGUF" / "tiny-Q4_K_M.gguf", outside)
    library.add_import(outside)
    library.add_import(library.models_dir / "acme" / "Tiny-GGUF" / "tiny-Q4_K_M.gguf")  # no-op

    entries = {e.path.name: e for e in library.entries()}
    assert set(entries) == {
        "tiny-Q4_K_M.gguf",
        "tiny-F16-00001-of-00002.gguf",
        "popular-Q4_0.gguf",
        "mine-Q8_0.gguf",
    }
    tiny = entries["tiny-Q4_K_M.gguf"]
    assert (tiny.source, tiny.repo_id, tiny.architecture, tiny.quantization, tiny.name) == (
        "downloaded",
        "acme/Tiny-GGUF",
        "llama",
        "Q4_K_M",
        "Tiny",
    )
    split = entries["tiny-F16-00001-of-00002.gguf"]
    assert len(split.files) == 2 and split.size == groups[1].size
    popular = entries["popular-Q4_0.gguf"]
    assert (popular.source, popular.repo_id, popular.quantization) == (
        "hf-cache",
        "acme/Popular-GGUF",
        "Q4_0",
    )
    assert Path(cached) == popular.path
    assert entries["mine-Q8_0.gguf"].source == "imported"

    # Deleting reports the bytes freed and leaves the rest alone.
    assert library.remove(split) == groups[1].size
    assert not (library.models_dir / "acme" / "Tiny-GGUF" / "split").exists()
    size = popular.size
    assert library.remove(popular) == size
    assert library.remove(entries["mine-Q8_0.gguf"]) == 0  # forgotten, not deleted
    assert outside.exists()
    assert {e.path.name for e in library.entries()} == {"tiny-Q4_K_M.gguf"}


def test_unreadable_file_is_listed_with_the_reason(tmp_path: Path) -> None:
    library = _library(tmp_path)
    bad = library.models_dir / "acme" / "Broken-GGUF" / "broken-Q4_K_M.gguf"
    bad.parent.mkdir(parents=True)
    bad.write_bytes(b"GGUF" + b"\x00" * 10)
    (entry,) = library.entries()
    assert entry.error and entry.quantization == "Q4_K_M" and entry.architecture == "?"


def test_bundled_model_cannot_be_deleted(model_path: Path, tmp_path: Path) -> None:
    library = Library(model_path.parent, tmp_path / "none", tmp_path / "imported.json")
    bundled = next(e for e in library.entries() if e.path == model_path)
    assert bundled.source == "bundled" and not bundled.deletable
    assert bundled.architecture == "gemma3"
