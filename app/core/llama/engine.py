"""The inference engine: load a GGUF, tokenize, and drive llama.cpp's decode loop.

The loop is our own (llama_batch + llama_decode + llama_get_logits_ith) rather than
`create_completion`, so every step can be analysed from a zero-copy view of the logits
row while it is valid (until the next decode). Several sequences share one context with
a unified KV cache: the prompt is decoded once and copied to each stream as metadata.
"""

from __future__ import annotations

# llama_runtime imports llama_cpp before numpy is touched (see its docstring).
from app.core.llama.llama_runtime import (  # isort: skip
    BackendInfo,
    backend_info,
    captured_log,
    failure_reason,
    llama,
    physical_cores,
)

import contextlib
import ctypes
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.core.errors import ModelFileError, PromptError
from app.core.gguf.gguf_file import non_finite_numbers, read_gguf
from app.core.gguf.model_card import ModelCard, card_from_gguf
from app.core.library.default_model import resolve_model
from app.core.llama.chat_template import chat_turn_ids, template_of
from app.core.llama.engine_config import EngineConfig
from app.core.llama.llama_runtime import local_offload_devices
from app.core.llama.load_probe import ensure_loadable, needs_probe
from app.core.llama.load_progress import LoadCancelled, LoadProgress
from app.core.llama.prompt_checks import check_prompt
from app.core.llama.rpc_workers import LayerSplit, available_memory, loaded_split, place_on_workers
from app.core.llama.vocabulary import Vocabulary

MAX_SEQUENCES = 16
MAX_CACHED_VIEWS = 4 * MAX_SEQUENCES


@dataclass(frozen=True)
class LoadedInfo:
    """What was loaded and where it runs (for the status bar and `info`)."""

    card: ModelCard
    n_ctx: int
    n_threads: int
    n_gpu_layers: int
    backend: BackendInfo
    split: LayerSplit | None = None  # layers held by RPC workers
    repack: bool = True

    def describe_device(self) -> str:
        # Which CPU kernels made the numbers: repacked weights differ from RPC workers'.
        kernels = ", repacked weights" if self.repack else ", weight repacking off"
        if self.split is not None:
            return f"{self.split.describe()}, {self.n_threads} threads{kernels}"
        return self._device() + kernels

    def _device(self) -> str:
        if self.n_gpu_layers > 0 and self.backend.gpu_offload:
            layers = self.card.layers or 0
            offload = "all" if self.n_gpu_layers >= layers + 1 else str(self.n_gpu_layers)
            return f"{self.backend.describe()} ({offload} layers offloaded)"
        return f"CPU, {self.n_threads} threads"


class Engine:
    """A loaded model with one context; not thread-safe: one worker thread owns it."""

    def __init__(
        self,
        model_spec: str | Path,
        config: EngineConfig | None = None,
        *,
        probe: bool = True,
        progress: LoadProgress | None = None,
    ) -> None:
        self.config = config or EngineConfig()
        self._lib = llama()
        self._lock = threading.Lock()
        self._model: Any = None
        self._ctx: Any = None
        self._batch: Any = None
        self._batch_capacity = 0
        self._logit_views: dict[int, npt.NDArray[np.float32]] = {}
        # What sequence 0 holds, when it was decoded as `decode_text` does it (a prompt in
        # batches, then one token per decode); None when unknown.
        self._seq0: list[int] | None = []
        self._seq0_prompt = 0
        self.path = resolve_model(str(model_spec))
        gguf = read_gguf(self.path)
        damaged = non_finite_numbers(gguf.metadata)
        if damaged:
            key, value = damaged[0]
            raise ModelFileError(
                f"{self.path.name}: its metadata says {key} = {value}, which no model can "
                "run with (the file is damaged)"
            )
        card = card_from_gguf(gguf)
        self.chat_template = template_of(gguf.metadata)
        backend = backend_info()
        lib = self._lib

        threads = self.config.n_threads or physical_cores()
        gpu_layers = self.config.n_gpu_layers
        if gpu_layers is None:
            gpu_layers = -1 if backend.gpu_offload else 0
        if not backend.gpu_offload:
            gpu_layers = 0
        mparams = lib.llama_model_default_params()
        mparams.n_gpu_layers = gpu_layers if gpu_layers >= 0 else 0x7FFFFFFF
        mparams.use_extra_bufts = self.config.repack
        placement = None
        local_devices = local_offload_devices()  # kept alive while the model loads
        if local_devices is not None:
            mparams.devices = ctypes.addressof(local_devices)
        if self.config.rpc_workers:  # probed first: llama.cpp aborts on an absent worker
            placement = place_on_workers(
                self.config.rpc_workers, card.layers or 0, available_memory()
            )
            mparams.devices = placement.devices_address
            mparams.tensor_split = placement.split_pointer
            mparams.n_gpu_layers = gpu_layers = placement.n_gpu_layers
        # A file that crashes llama.cpp must crash a child process, not this one.
        if probe and needs_probe(self.path):
            if progress is not None:
                progress.stage("Checking this new file in a separate process first")
            ensure_loadable(self.path, progress.cancel if progress is not None else None)
        callback = None
        if progress is not None:
            progress.stage("Loading the weights", 0.0)
            callback = lib.llama_progress_callback(lambda p, _data: progress.weights(p))
            mparams.progress_callback = callback  # kept alive by `callback` until loaded
        with captured_log() as lines:
            model = lib.llama_model_load_from_file(str(self.path).encode("utf-8"), mparams)
        del callback
        self.split = loaded_split(lines, placement) if placement else None
        if not model and progress is not None:
            progress.check()  # a cancel made llama.cpp stop: say so, not "could not load"
        if not model:
            raise ModelFileError(
                f"{self.path.name}: llama.cpp could not load it: {failure_reason(lines)}"
            )
        self._model = model
        vocab = lib.llama_model_get_vocab(model)
        self.vocab = Vocabulary(vocab, card)

        train_ctx = int(lib.llama_model_n_ctx_train(model))
        n_ctx = min(self.config.n_ctx, train_ctx) if train_ctx > 0 else self.config.n_ctx
        cparams = lib.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = min(self.config.n_batch, n_ctx)
        cparams.n_ubatch = min(self.config.n_batch, n_ctx)
        cparams.n_seq_max = MAX_SEQUENCES
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.kv_unified = True
        cparams.swa_full = True  # sequence copies must keep every cell of sliding-window layers
        cparams.no_perf = True
        cparams.flash_attn_type = 1 if self.config.flash_attn else 0
        if progress is not None:
            try:
                progress.stage("Creating the context")
            except LoadCancelled:
                self.close()
                raise
        with captured_log() as lines:
            ctx = lib.llama_init_from_model(model, cparams)
        if not ctx:
            self.close()
            raise ModelFileError(
                f"{self.path.name}: could not create a context: {failure_reason(lines)}"
            )
        self._ctx = ctx
        self._memory = lib.llama_get_memory(ctx)
        self.n_ctx = int(lib.llama_n_ctx(ctx))
        self.n_batch = int(lib.llama_n_batch(ctx))
        self.n_vocab = self.vocab.size
        overlap = self.config.overlap_analysis
        self.overlap_analysis = gpu_layers != 0 if overlap is None else overlap
        self.info = LoadedInfo(
            card=card,
            n_ctx=self.n_ctx,
            n_threads=threads,
            n_gpu_layers=(card.layers or 0) + 1 if gpu_layers < 0 else gpu_layers,
            backend=backend,
            split=self.split,
            repack=self.config.repack,
        )

    # ---- lifetime ---------------------------------------------------------------------
    def close(self) -> None:
        lib = self._lib
        self._logit_views.clear()
        if self._batch is not None:
            lib.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx:
            lib.llama_free(self._ctx)
            self._ctx = None
        if self._model:
            lib.llama_model_free(self._model)
            self._model = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()

    # ---- low-level decoding ---------------------------------------------------------
    def _ensure_batch(self, n: int) -> Any:
        if n > self._batch_capacity:
            if self._batch is not None:
                self._lib.llama_batch_free(self._batch)
            capacity = max(n, self.n_batch)
            self._batch = self._lib.llama_batch_init(capacity, 0, MAX_SEQUENCES)
            self._batch_capacity = capacity
        return self._batch

    def clear(self) -> None:
        """Forget every sequence's cache."""
        self._lib.llama_memory_clear(self._memory, True)
        self._seq0 = []
        self._seq0_prompt = 0

    def _track_seq0(self, entries: Sequence[tuple[int, int, int, bool]]) -> None:
        known = self._seq0
        if known is None:
            return
        if any(seq != 0 for _t, _p, seq, _l in entries) and len(entries) > 1:
            self._seq0 = None  # decoded beside other sequences: not the lone pattern
            return
        for token, pos, seq, _logits in entries:
            if seq != 0:
                continue
            if pos != len(known):
                self._seq0 = None
                return
            known.append(token)

    def decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> None:
        """Decode (token, position, sequence, wants_logits) entries in one batch."""
        self._track_seq0(entries)
        batch = self._ensure_batch(len(entries))
        for i, (token, pos, seq, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits
        batch.n_tokens = len(entries)
        rc = self._lib.llama_decode(self._ctx, batch)
        if rc != 0:
            self._seq0 = None
            raise RuntimeError(f"llama_decode failed with code {rc}")

    def _reusable(self, ids: Sequence[int], n_prompt: int) -> int | None:
        """How many of `ids` sequence 0 holds decoded as `decode_text` would decode them
        (always fewer than all: the last is decoded again for its logits); None when the
        cache must be rebuilt from the prompt."""
        known = self._seq0
        if (
            known is None
            or len(ids) <= n_prompt
            or self._seq0_prompt != n_prompt
            or known[:n_prompt] != list(ids[:n_prompt])
        ):
            return None
        common = n_prompt
        limit = min(len(known), len(ids) - 1)
        while common < limit and known[common] == ids[common]:
            common += 1
        return common

    def redecode_count(self, ids: Sequence[int], n_prompt: int) -> int:
        """How many generated tokens `decode_text` would decode one by one (0 when what
        sequence 0 holds already covers them), for saying why a continue takes a while."""
        common = self._reusable(ids, n_prompt)
        return len(ids) - (n_prompt if common is None else common)

    def decode_text(
        self, ids: Sequence[int], n_prompt: int, cancel: threading.Event | None = None
    ) -> int:
        """Bring sequence 0 to `ids` decoded as one uninterrupted run decodes them: the
        first `n_prompt` (the prompt) in batches, each later one (generated) on its own,
        so its logits are bit for bit the run's own (llama.cpp's numbers move with the
        batch shape, up to 0.1 in p on the default model). What sequence 0 already holds
        that way is kept: continuing, stepping or branching a run decodes one token.
        The last token's logits are left in row -1. Returns how many tokens were decoded;
        -1 when `cancel` was set before the end (the logits are then not ready).
        """
        if not 0 < n_prompt <= len(ids):
            raise PromptError("the prompt is empty")
        check_prompt(len(ids), self.n_ctx, what="text", leave_room=False)
        ids = list(ids)
        reusable = self._reusable(ids, n_prompt)
        if reusable is not None:
            common = reusable
            self.remove_sequence(0, common)
            decoded = 0
        else:
            self.clear()
            self.prefill(ids[:n_prompt])
            common = decoded = n_prompt
        for pos in range(common, len(ids)):
            if cancel is not None and cancel.is_set() and pos < len(ids) - 1:
                return -1
            self.decode([(ids[pos], pos, 0, pos == len(ids) - 1)])
            decoded += 1
        return decoded

    def prefill(self, ids: Sequence[int], seq: int = 0, start: int = 0) -> None:
        """Decode a prompt into `seq` in chunks; logits are kept for the last token only."""
        if not ids:
            raise PromptError("the prompt is empty")
        check_prompt(start + len(ids), self.n_ctx, leave_room=False)
        if seq == 0 and start == 0:
            self._seq0 = []  # decode() records the prompt's tokens
            self._seq0_prompt = len(ids)
        for chunk_start in range(0, len(ids), self.n_batch):
            chunk = ids[chunk_start : chunk_start + self.n_batch]
            last = chunk_start + len(chunk) == len(ids)
            self.decode(
                [
                    (tok, start + chunk_start + j, seq, last and j == len(chunk) - 1)
                    for j, tok in enumerate(chunk)
                ]
            )

    def logits(self, batch_index: int = -1) -> npt.NDArray[np.float32]:
        """Zero-copy view of one output row; valid until the next decode."""
        ptr = self._lib.llama_get_logits_ith(self._ctx, batch_index)
        address = ctypes.cast(ptr, ctypes.c_void_p).value
        if not address:
            raise RuntimeError(f"llama.cpp has no logits for batch row {batch_index}")
        # Making a view costs ~60 us (np.ctypeslib builds a ctypes array type); rows start
        # at the same few addresses every step, so keep their views.
        view = self._logit_views.get(address)
        if view is None:
            if len(self._logit_views) >= MAX_CACHED_VIEWS:
                self._logit_views.clear()
            view = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))
            self._logit_views[address] = view
        return view

    def copy_sequence(self, src: int, dst: int) -> None:
        self._lib.llama_memory_seq_rm(self._memory, dst, -1, -1)
        self._lib.llama_memory_seq_cp(self._memory, src, dst, -1, -1)
        if dst == 0:
            self._seq0 = None

    def remove_sequence(self, seq: int, start: int = -1) -> None:
        self._lib.llama_memory_seq_rm(self._memory, seq, start, -1)
        if seq == 0 and self._seq0 is not None:
            if start < 0:
                self._seq0 = []
                self._seq0_prompt = 0
            else:
                del self._seq0[start:]

    def tokenize_prompt(self, prompt: str, *, add_bos: bool = True) -> list[int]:
        if not prompt:
            raise PromptError("the prompt is empty")
        ids = self.vocab.tokenize(prompt, add_bos=add_bos)
        check_prompt(len(ids), self.n_ctx, hint="; shorten it or raise the context size")
        return ids

    def chat_prompt_ids(self, user_text: str) -> list[int]:
        """`user_text` as one user turn through the model's own chat template, tokenized
        with its special tokens (the template writes BOS itself)."""
        ids = chat_turn_ids(self.vocab, self.chat_template, self.path.name, user_text)
        check_prompt(len(ids), self.n_ctx, what="chat prompt")
        return ids

    @property
    def model_ptr(self) -> Any:
        return self._model

    @property
    def context_ptr(self) -> Any:
        return self._ctx
