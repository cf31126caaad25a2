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


def loadable_tiny_gguf(
    seed: int = 0, layers: int = 2, embd: int = 32, byte_tokens: bool = True
) -> bytes:
    """A llama-architecture GGUF llama.cpp loads and runs: random f32 weights, every
    tensor a llama model needs, a SentencePiece-style vocabulary of 320 tokens.

    Without `byte_tokens` the file is well-formed but llama.cpp 0.3.x aborts the whole
    process while loading its vocabulary (std::out_of_range looking up <0x0A>)."""
    rng = np.random.default_rng(seed)
    ff = embd * 2
    # SentencePiece vocabularies carry the 256 byte tokens (llama.cpp looks up <0x0A>).
    byte_names = [f"<0x{b:02X}>" for b in range(256)] if byte_tokens else []
    tokens = [*_TOKENS[:3], *byte_names, *_TOKENS[3:]]
    n_vocab = len(tokens)
    n_bytes = len(byte_names)

    def weights(*shape: int) -> np.ndarray:
        return (rng.standard_normal(shape, dtype=np.float32) * 0.2).astype(np.float32)

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tiny.gguf"
        writer = GGUFWriter(str(path), "llama")
        writer.add_name("Tiny Random Llama")
        writer.add_file_type(int(LlamaFileType.ALL_F32))
        writer.add_context_length(128)
        writer.add_embedding_length(embd)
        writer.add_block_count(layers)
        writer.add_feed_forward_length(ff)
        writer.add_head_count(4)
        writer.add_head_count_kv(2)
        writer.add_rope_dimension_count(embd // 4)
        writer.add_layer_norm_rms_eps(1e-5)
        writer.add_tokenizer_model("llama")
        writer.add_token_list(tokens)
        writer.add_token_scores(
            [0.0] * (3 + n_bytes) + [-float(i) for i in range(1, n_vocab - 2 - n_bytes)]
        )
        writer.add_token_types(
            [TokenType.UNKNOWN, TokenType.CONTROL, TokenType.CONTROL]
            + [TokenType.BYTE] * n_bytes
            + [TokenType.NORMAL] * (n_vocab - 3 - n_bytes)
        )
        writer.add_bos_token_id(1)
        writer.add_eos_token_id(2)
        writer.add_tensor("token_embd.weight", weights(n_vocab, embd))
        writer.add_tensor("output_norm.weight", np.ones(embd, dtype=np.float32))
        writer.add_tensor("output.weight", weights(n_vocab, embd))
        kv = embd // 2
        for i in range(layers):
            writer.add_tensor(f"blk.{i}.attn_norm.weight", np.ones(embd, dtype=np.float32))
            writer.add_tensor(f"blk.{i}.attn_q.weight", weights(embd, embd))
            writer.add_tensor(f"blk.{i}.attn_k.weight", weights(kv, embd))
            writer.add_tensor(f"blk.{i}.attn_v.weight", weights(kv, embd))
            writer.add_tensor(f"blk.{i}.attn_output.weight", weights(embd, embd))
            writer.add_tensor(f"blk.{i}.ffn_norm.weight", np.ones(embd, dtype=np.float32))
            writer.add_tensor(f"blk.{i}.ffn_gate.weight", weights(ff, embd))
            writer.add_tensor(f"blk.{i}.ffn_up.weight", weights(ff, embd))
            writer.add_tensor(f"blk.{i}.ffn_down.weight", weights(embd, ff))
        writer.write_header_to_file()
        writer.write_kv_data_to_file()
        writer.write_tensors_to_file()
        writer.close()
        return path.read_bytes()
