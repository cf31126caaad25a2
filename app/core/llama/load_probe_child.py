"""The load probe's child side (load_probe.py is the parent's): read a model file as the
app would, in a process of its own, so a crash inside llama.cpp ends only this process."""

from __future__ import annotations

from pathlib import Path

from app.core.gguf.gguf_file import read_gguf
from app.core.llama.engine import Engine
from app.core.llama.engine_config import EngineConfig
from app.core.llama.vocabulary import load_vocabulary

FULL_LOAD_MAX = 1 << 30  # bytes: larger models only have their vocabulary checked


def probe_child(path: Path) -> int:
    """The child's side: read the file as the app would; exit 0 when all went well."""
    gguf = read_gguf(path, require_tensors=False)
    with load_vocabulary(path, probe=False) as vocab:
        ids = vocab.tokenize("Hello, world!\n")
        for token in ids:
            vocab.piece(token)
    if gguf.tensors and path.stat().st_size <= FULL_LOAD_MAX:
        with Engine(path, EngineConfig(n_ctx=64, n_gpu_layers=0), probe=False) as engine:
            engine.tokenize_prompt("Hello")
    return 0
