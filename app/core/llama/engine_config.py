"""How to load a model: context size, offload, threads, attention kernel."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class EngineConfig:
    n_ctx: int = 4096
    n_gpu_layers: int | None = None  # None: every layer when the build can offload
    n_threads: int | None = None  # None: physical cores
    n_batch: int = 512
    flash_attn: bool = True  # also makes batched sequences bit-identical to a lone one
    # Analyse a greedy step while the next one decodes (None: when layers run on a GPU,
    # where a decode leaves the CPU idle; on a CPU both would compete for the cores).
    overlap_analysis: bool | None = None
    # llama.cpp's CPU weight repacking (use_extra_bufts): faster matmuls on this CPU; off
    # gives the numbers a model split over RPC workers gives (their kernels do not repack).
    repack: bool = True
    rpc_workers: tuple[str, ...] = ()  # "host:port" of llama.cpp RPC workers to hold layers
