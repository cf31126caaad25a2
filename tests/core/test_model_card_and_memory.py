"""The model card agrees with llama.cpp's own reading of the file; memory estimates."""

from __future__ import annotations

import ctypes
from pathlib import Path

from app.core.gguf.memory_fit import estimate, fit_for, kv_cache_bytes, system_memory, verdict
from app.core.gguf.model_card import read_model_card
from app.core.llama.engine import Engine


def _meta(lib: object, model: object, key: str) -> str:
    buf = ctypes.create_string_buffer(512)
    n = lib.llama_model_meta_val_str(model, key.encode(), buf, len(buf))  # type: ignore[attr-defined]
    assert n >= 0, key
    return buf.value.decode()


def test_default_model_card_matches_llama_cpp(engine: Engine, model_path: Path) -> None:
    card = read_model_card(model_path)
    lib, model = engine._lib, engine._model
    assert card.parameters == lib.llama_model_n_params(model)
    assert card.layers == lib.llama_model_n_layer(model)
    assert card.embedding_length == lib.llama_model_n_embd(model)
    assert card.heads == lib.llama_model_n_head(model)
    assert card.context_length == lib.llama_model_n_ctx_train(model)
    assert card.vocab_size == lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(model))
    assert card.architecture == _meta(lib, model, "general.architecture")
    assert card.name == _meta(lib, model, "general.name")
    assert card.key_length == int(_meta(lib, model, "gemma3.attention.key_length"))
    assert card.kv_heads == int(_meta(lib, model, "gemma3.attention.head_count_kv"))
    assert card.file_size == model_path.stat().st_size
    assert card.quantization == "Q4_K_M" and not card.chat_template and not card.instruct


def test_kv_cache_estimate(model_path: Path) -> None:
    card = read_model_card(model_path)
    # Layers x cells x kv heads x (key + value dims) x f16: an upper bound, since
    # sliding-window layers (Gemma 3) keep fewer cells.
    per_token = kv_cache_bytes(card, 1)
    assert per_token == 18 * 1 * (256 + 256) * 2
    need = estimate(card.file_size, card, n_ctx=4096, gpu_layers=0)
    assert need.vram == 0 and need.ram > card.file_size + need.kv_cache
    offloaded = estimate(card.file_size, card, n_ctx=4096, gpu_layers=(card.layers or 0) + 1)
    assert offloaded.vram > card.file_size and offloaded.ram < need.ram


def test_verdicts() -> None:
    gib = 1 << 30
    assert verdict(4 * gib, 16 * gib, 12 * gib) == "fits"
    assert verdict(13 * gib, 16 * gib, 12 * gib) == "tight"
    assert verdict(20 * gib, 16 * gib, 12 * gib) == "won't fit"
    memory = system_memory()
    assert memory.total > memory.available > 0
    assert fit_for(estimate(100 << 20), memory) == "fits"
    assert fit_for(estimate(memory.total * 2), memory) == "won't fit"
