"""Quantization tags, shard grouping, the recommended file, and the course catalog."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.core.errors import PlaygroundError
from app.core.gguf.quant_files import HubFile, group_files, quant_of, shard_info
from app.core.library.catalog import load_catalog


@pytest.mark.parametrize(
    ("name", "quant"),
    [
        ("qwen2.5-0.5b-instruct-q4_k_m.gguf", "Q4_K_M"),
        ("Llama-3.2-1B-Instruct-Q4_K_M.gguf", "Q4_K_M"),
        ("tinyllama-1.1b-chat-v1.0.Q5_K_S.gguf", "Q5_K_S"),
        ("gemma-3-270m-it-Q8_0.gguf", "Q8_0"),
        ("model-IQ2_XXS.gguf", "IQ2_XXS"),
        ("Qwen3-8B-UD-Q4_K_XL.gguf", "UD-Q4_K_XL"),
        ("Phi-3-mini-4k-instruct-fp16.gguf", "F16"),
        ("BF16/big-00001-of-00003.gguf", "BF16"),
        ("gpt-oss-20b-mxfp4.gguf", "MXFP4"),
        ("smollm2-135m-instruct.gguf", "other"),
    ],
)
def test_quant_tags(name: str, quant: str) -> None:
    assert quant_of(name) == quant


def test_recommendation_falls_back_like_llama_cpp() -> None:
    def files(*names: str) -> list[HubFile]:
        return [HubFile(n, 100 + i) for i, n in enumerate(names)]

    assert group_files(files("m-Q8_0.gguf", "m-Q4_K_M.gguf", "m-Q2_K.gguf"))[0].quant == "Q4_K_M"
    assert group_files(files("m-Q8_0.gguf", "m-Q4_0.gguf", "m-F16.gguf"))[0].quant == "Q4_0"
    assert group_files(files("m-F16.gguf", "m-Q8_0.gguf"))[0].quant == "Q8_0"
    assert group_files(files("m-Q2_K.gguf", "m-IQ1_S.gguf"))[0].quant == "Q2_K"  # smallest
    # A split model missing a part is listed but never recommended; projectors are left out.
    groups = group_files(
        files("Q4_K_M/m-Q4_K_M-00001-of-00002.gguf", "m-Q6_K.gguf", "mmproj-m-f16.gguf")
    )
    assert [g.quant for g in groups] == ["Q6_K", "Q4_K_M"]
    assert not groups[1].complete
    assert shard_info("m-Q4_K_M-00002-of-00002.gguf") is not None


def test_catalog_entries_are_complete() -> None:
    entries = load_catalog()
    assert len(entries) >= 6
    kinds = {e.kind for e in entries}
    assert {"base", "instruct", "coder", "math"} <= kinds
    repos = {e.repo for e in entries}
    for entry in entries:
        assert entry.repo.count("/") == 1 and entry.file.endswith(".gguf")
        assert quant_of(entry.file) != "other" and entry.license and len(entry.why) > 20
        if "/" in entry.pair:
            assert entry.pair in repos  # base-instruct pairs point at each other


def test_catalog_errors_are_specific(tmp_path: Path) -> None:
    bad = tmp_path / "catalog.toml"
    bad.write_text('[[model]]\nrepo = "a/b"\n', encoding="utf-8")
    with pytest.raises(PlaygroundError, match="lacks file, license, kind, why"):
        load_catalog(bad)
    bad.write_text("[[model]\n", encoding="utf-8")
    with pytest.raises(PlaygroundError, match="not valid TOML"):
        load_catalog(bad)
