"""The reference tokenizers shipped with the app (vocabulary-only GGUFs in
resources/tokenizers, each under its own licence; see NOTICE.md there): the Tokenizer
tab compares with them offline, on a machine with only the bundled model."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core import paths


@dataclass(frozen=True)
class ReferenceTokenizer:
    name: str
    file: str
    licence: str

    @property
    def path(self) -> Path:
        return paths.resources_dir() / "tokenizers" / self.file


REFERENCE_TOKENIZERS = (
    ReferenceTokenizer("GPT-2", "ggml-vocab-gpt-2.gguf", "MIT"),
    ReferenceTokenizer("Llama 3", "ggml-vocab-llama-bpe.gguf", "Meta Llama 3 Community License"),
    ReferenceTokenizer("Qwen2", "ggml-vocab-qwen2.gguf", "Apache-2.0"),
)


def available_reference_tokenizers() -> list[ReferenceTokenizer]:
    return [t for t in REFERENCE_TOKENIZERS if t.path.is_file()]
