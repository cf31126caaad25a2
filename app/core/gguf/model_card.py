"""A model's characteristics, read from its GGUF metadata (no weights are loaded)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from gguf.constants import LlamaFileType

from app.core.gguf.gguf_file import ArrayInfo, GGUFFile, read_gguf

TOKENIZER_KINDS = {
    "llama": "SentencePiece (SPM)",
    "gpt2": "byte-level BPE",
    "bert": "WordPiece",
    "t5": "Unigram",
    "rwkv": "RWKV",
    "plamo2": "PLaMo-2",
    "none": "none",
}


def _length(value: Any) -> int:
    if isinstance(value, ArrayInfo):
        return value.length
    if isinstance(value, list):
        return len(value)
    return 0


def quantization_name(file_type: Any, gguf: GGUFFile) -> str:
    """`general.file_type` as llama.cpp names it (Q4_K_M, ...); else the commonest tensor type."""
    if isinstance(file_type, int):
        try:
            return LlamaFileType(file_type).name.removeprefix("MOSTLY_").removeprefix("ALL_")
        except ValueError:
            pass
    counts: dict[str, int] = {}
    for tensor in gguf.tensors:
        counts[tensor.ggml_type] = counts.get(tensor.ggml_type, 0) + tensor.n_bytes
    return max(counts, key=lambda k: counts[k]) if counts else "unknown"


def format_count(n: int) -> str:
    for unit, scale in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("K", 1e3)):
        if n >= scale:
            return f"{n / scale:.3g}{unit}"
    return str(n)


@dataclass(frozen=True)
class ModelCard:
    file: str
    file_size: int
    name: str
    architecture: str
    parameters: int
    parameters_label: str
    layers: int | None
    embedding_length: int | None
    heads: int | None
    kv_heads: int | None
    key_length: int | None
    value_length: int | None
    context_length: int | None
    vocab_size: int
    tokenizer_model: str
    tokenizer_type: str
    merges: int
    quantization: str
    license: str | None
    chat_template: bool
    instruct: bool
    bos_token_id: int | None
    eos_token_id: int | None
    gguf_version: int

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def card_from_gguf(gguf: GGUFFile) -> ModelCard:
    meta = gguf.metadata
    name = str(meta.get("general.name") or Path(gguf.path).stem)
    tokenizer_model = str(meta.get("tokenizer.ggml.model", "unknown"))
    template = meta.get("tokenizer.chat_template")
    lowered = f"{name} {meta.get('general.finetune', '')} {Path(gguf.path).name}".lower()
    instruct = any(tag in lowered for tag in ("instruct", "-it", " it ", "chat", "-sft"))
    parameters = sum(t.n_elements for t in gguf.tensors)

    def arch_int(key: str) -> int | None:
        value = gguf.arch_value(key)
        if isinstance(value, list):  # per-layer head counts in some architectures
            value = max(value) if value else None
        return int(value) if isinstance(value, int | float) else None

    return ModelCard(
        file=str(gguf.path),
        file_size=gguf.file_size,
        name=name,
        architecture=gguf.architecture,
        parameters=parameters,
        parameters_label=str(meta.get("general.size_label") or format_count(parameters)),
        layers=arch_int("block_count"),
        embedding_length=arch_int("embedding_length"),
        heads=arch_int("attention.head_count"),
        kv_heads=arch_int("attention.head_count_kv"),
        key_length=arch_int("attention.key_length"),
        value_length=arch_int("attention.value_length"),
        context_length=arch_int("context_length"),
        vocab_size=_length(meta.get("tokenizer.ggml.tokens")),
        tokenizer_model=tokenizer_model,
        tokenizer_type=TOKENIZER_KINDS.get(tokenizer_model, tokenizer_model),
        merges=_length(meta.get("tokenizer.ggml.merges")),
        quantization=quantization_name(meta.get("general.file_type"), gguf),
        license=str(meta["general.license"]) if "general.license" in meta else None,
        chat_template=isinstance(template, str) and bool(template),
        instruct=instruct,
        bos_token_id=meta.get("tokenizer.ggml.bos_token_id"),
        eos_token_id=meta.get("tokenizer.ggml.eos_token_id"),
        gguf_version=gguf.version,
    )


def read_model_card(path: Path, *, require_tensors: bool = True) -> ModelCard:
    return card_from_gguf(read_gguf(path, require_tensors=require_tensors))
