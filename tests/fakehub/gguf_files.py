"""Small real GGUF files (written with the `gguf` package) for the fake Hub's repositories."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from gguf import GGUFWriter, LlamaFileType, TokenType

_TOKENS = ["<unk>", "<s>", "</s>", *[f"▁w{i}" for i in range(61)]]


def tiny_gguf(
    name: str = "Tiny Llama",
    file_type: LlamaFileType = LlamaFileType.MOSTLY_Q4_K_M,
    seed: int = 0,
    pad_to: int = 0,
) -> bytes:
    """A llama-architecture GGUF with a tokenizer and a few small f32 tensors.

    `seed` changes the weights (and so the sha256); `pad_to` grows the file with one more
    tensor so downloads have something to resume.
    """
    rng = np.random.default_rng(seed)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.gguf"
        writer = GGUFWriter(str(path), "llama")
        writer.add_name(name)
        writer.add_file_type(int(file_type))
        writer.add_context_length(256)
        writer.add_embedding_length(16)
        writer.add_block_count(2)
        writer.add_feed_forward_length(32)
        writer.add_head_count(2)
        writer.add_head_count_kv(1)
        writer.add_layer_norm_rms_eps(1e-5)
        writer.add_string("general.license", "apache-2.0")
        writer.add_tokenizer_model("llama")
        writer.add_token_list(_TOKENS)
        writer.add_token_scores([0.0] * len(_TOKENS))
        writer.add_token_types(
            [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]
            + [TokenType.NORMAL] * (len(_TOKENS) - 3)
        )
        writer.add_bos_token_id(1)
        writer.add_eos_token_id(2)
        writer.add_tensor("token_embd.weight", rng.standard_normal((64, 16), dtype=np.float32))
        writer.add_tensor("output_norm.weight", np.ones(16, dtype=np.float32))
        if pad_to:
            extra = max(1, pad_to // 4)
            writer.add_tensor("padding.weight", rng.standard_normal(extra, dtype=np.float32))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return path.read_bytes()
