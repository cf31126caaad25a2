"""Broken files are refused with the reason, before llama.cpp sees them."""

from __future__ import annotations

import shutil
import struct
from pathlib import Path

import pytest

from app.core.errors import ModelFileError
from app.core.gguf.gguf_file import read_gguf
from app.core.gguf.model_card import read_model_card
from app.core.llama.engine import Engine


def _truncated(model_path: Path, tmp_path: Path, size: int) -> Path:
    target = tmp_path / f"cut-{size}.gguf"
    with model_path.open("rb") as src, target.open("wb") as dst:
        remaining = size
        while remaining > 0:
            block = src.read(min(remaining, 1 << 20))
            if not block:
                break
            dst.write(block)
            remaining -= len(block)
    return target


def test_default_model_card(model_path: Path) -> None:
    card = read_model_card(model_path)
    assert card.architecture == "gemma3"
    assert card.vocab_size == 262144
    assert card.layers == 18
    assert card.context_length == 32768
    assert card.quantization == "Q4_K_M"
    assert card.tokenizer_model == "llama"
    assert 260e6 < card.parameters < 280e6


@pytest.mark.parametrize("size", [0, 3, 7, 12, 23, 100, 5000, 70_000, 3_000_000, 6_000_000])
def test_truncated_header_is_refused(model_path: Path, tmp_path: Path, size: int) -> None:
    with pytest.raises(ModelFileError, match=r"truncated|not a GGUF|cannot fit"):
        read_gguf(_truncated(model_path, tmp_path, size))


def test_truncated_tensor_data_is_refused(model_path: Path, tmp_path: Path) -> None:
    cut = _truncated(model_path, tmp_path, model_path.stat().st_size - 4096)
    with pytest.raises(ModelFileError, match="lies outside the file"):
        read_gguf(cut)
    with pytest.raises(ModelFileError, match="lies outside the file"):
        Engine(cut)


def test_wrong_magic_and_version(model_path: Path, tmp_path: Path) -> None:
    head = _truncated(model_path, tmp_path, 1 << 16).read_bytes()
    bad_magic = tmp_path / "magic.gguf"
    bad_magic.write_bytes(b"GGML" + head[4:])
    with pytest.raises(ModelFileError, match="not a GGUF file"):
        read_gguf(bad_magic)
    bad_version = tmp_path / "version.gguf"
    bad_version.write_bytes(head[:4] + struct.pack("<I", 99) + head[8:])
    with pytest.raises(ModelFileError, match="unsupported GGUF version 99"):
        read_gguf(bad_version)


def test_absurd_counts_are_refused(model_path: Path, tmp_path: Path) -> None:
    head = _truncated(model_path, tmp_path, 1 << 16).read_bytes()
    absurd = tmp_path / "absurd.gguf"
    absurd.write_bytes(head[:8] + struct.pack("<Q", 2**62) + head[16:])
    with pytest.raises(ModelFileError, match="cannot fit"):
        read_gguf(absurd)


def test_missing_file_and_folder(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="no such file"):
        read_gguf(tmp_path / "nope.gguf")
    with pytest.raises(ModelFileError, match="is a folder"):
        read_gguf(tmp_path)


def test_unsupported_architecture(model_path: Path, tmp_path: Path) -> None:
    copy = tmp_path / "arch.gguf"
    shutil.copyfile(model_path, copy)
    data = bytearray(copy.read_bytes()[: 1 << 16])
    at = data.find(b"gemma3", 0, 200)
    data[at : at + 6] = b"zzzzz3"
    with copy.open("r+b") as fh:
        fh.write(data)
    with pytest.raises(ModelFileError, match="architecture 'zzzzz3' is not supported"):
        read_gguf(copy)


def test_log_captures_on_two_threads_end_independently() -> None:
    """The engine thread and the tokenizer thread can load at the same time: ending one
    capture must not remove the other's (they often hold equal lines)."""
    from app.core.llama.llama_runtime import _on_log, captured_log

    with captured_log() as outer:
        with captured_log() as inner:
            assert inner == outer  # equal, not the same list
        _on_log(2, b"a message for the outer capture only\n", None)
    assert outer == ["a message for the outer capture only\n"]
    assert inner == []


def test_a_nan_hyperparameter_is_refused_before_llama_cpp_aborts(
    model_path: Path, tmp_path: Path
) -> None:
    import math

    import numpy as np
    from gguf import GGUFReader

    target = tmp_path / "eps-nan.gguf"
    shutil.copyfile(model_path, target)
    reader = GGUFReader(target, "r+")
    field = reader.fields["gemma3.attention.layer_norm_rms_epsilon"]
    field.parts[field.data[0]][0] = np.nan
    reader.data.flush()
    del reader
    assert math.isnan(read_gguf(target).metadata["gemma3.attention.layer_norm_rms_epsilon"])
    with pytest.raises(ModelFileError, match=r"layer_norm_rms_epsilon = nan.*damaged"):
        Engine(target)
