"""Will a model fit? Memory a GGUF needs for a context length and offload, against this machine.

llama.cpp maps the weights (file size), allocates the KV cache (keys and values, f16, for
every layer and context cell) and compute buffers. Layers offloaded to a GPU move their
share of the weights and KV cache into VRAM.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import psutil

from app.core.gguf.model_card import ModelCard

Verdict = Literal["fits", "tight", "won't fit"]

COMPUTE_OVERHEAD = 256 << 20  # compute buffers and runtime; measured ~150–300 MB for small models
KV_BYTES = 2  # f16 cache entries


@dataclass(frozen=True)
class MemoryNeed:
    ram: int
    vram: int
    kv_cache: int

    @property
    def total(self) -> int:
        return self.ram + self.vram


@dataclass(frozen=True)
class SystemMemory:
    total: int
    available: int


def system_memory() -> SystemMemory:
    vm = psutil.virtual_memory()
    return SystemMemory(total=int(vm.total), available=int(vm.available))


def kv_cache_bytes(card: ModelCard, n_ctx: int) -> int:
    """Keys and values for every layer and context cell (f16)."""
    layers = card.layers or 0
    if not layers or not card.embedding_length or not card.heads:
        return 0
    head_dim = card.key_length or card.embedding_length // card.heads
    value_dim = card.value_length or head_dim
    kv_heads = card.kv_heads or card.heads
    return layers * n_ctx * kv_heads * (head_dim + value_dim) * KV_BYTES


def estimate(
    file_size: int,
    card: ModelCard | None = None,
    n_ctx: int = 4096,
    gpu_layers: int = 0,
    gpu_share: float | None = None,
) -> MemoryNeed:
    """Memory to load `file_size` bytes of weights with `gpu_layers` offloaded.

    Without a card (a Hub file not downloaded yet) the KV cache is unknown and left out,
    and so is the layer count: `gpu_share` then says which fraction goes to the GPU.
    """
    kv = kv_cache_bytes(card, n_ctx) if card is not None else 0
    layers = (card.layers if card is not None else None) or 0
    if gpu_share is not None:
        share = min(1.0, max(0.0, gpu_share))
    else:
        share = min(1.0, gpu_layers / (layers + 1)) if layers and gpu_layers > 0 else 0.0
    on_gpu = int((file_size + kv) * share)
    return MemoryNeed(
        ram=file_size + kv - on_gpu + COMPUTE_OVERHEAD,
        vram=on_gpu + (COMPUTE_OVERHEAD if on_gpu else 0),
        kv_cache=kv,
    )


def verdict(need: int, total: int, available: int) -> Verdict:
    """`fits` with room to spare, `tight` when it needs most of the memory, else `won't fit`."""
    if need <= min(available, int(total * 0.7)):
        return "fits"
    if need <= int(total * 0.9):
        return "tight"
    return "won't fit"


def fit_for(
    need: MemoryNeed, memory: SystemMemory, vram_total: int = 0, vram_free: int = 0
) -> Verdict:
    ram = verdict(need.ram, memory.total, memory.available)
    if need.vram == 0:
        return ram
    gpu = verdict(need.vram, vram_total, vram_free)
    order: tuple[Verdict, ...] = ("fits", "tight", "won't fit")
    return max(ram, gpu, key=order.index)
