"""One loaded model, looked into: the residual stream of every layer at a position and
the attention weights of every head over a prompt, each from a llama.cpp context of its
own (the one that generates is never touched, so nothing it computes changes).

The inspection runs on the thread that calls it; the app calls it from a thread of its
own, so a stream in progress keeps its pace (the two cores are shared, though).
"""

from __future__ import annotations

import threading
from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from app.core.gguf.gguf_file import GGUFFile, read_gguf
from app.core.inside.output_head import OutputHead, check_supported, load_output_head
from app.core.llama.engine import Engine
from app.core.llama.graph_capture import (
    ATTENTION,
    LAYER_OUTPUT,
    GraphCapture,
    InspectionContext,
    InspectionError,
)
from app.core.llama.rpc_workers import available_memory

LENS_BATCH = 128  # small micro-batches: the compute buffer grows with n_ubatch × vocabulary
MAX_ATTENTION_TOKENS = 256


class ModelInspector:
    """Inspection contexts and the output head of `engine`'s model, made on first use."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.gguf: GGUFFile = read_gguf(engine.path)
        check_supported(self.gguf)
        self.n_layer = int(self.gguf.arch_value("block_count") or 0)
        self.n_head = int(self.gguf.arch_value("attention.head_count") or 0)
        self.n_head_kv = int(self.gguf.arch_value("attention.head_count_kv") or self.n_head)
        self._head: OutputHead | None = None
        self._lens: InspectionContext | None = None
        self._attention: InspectionContext | None = None
        self._states: dict[int, npt.NDArray[np.float32]] = {}
        self._lock = threading.Lock()
        self._closed = False  # the model is about to go: nothing may touch it again

    # ---- the residual stream ----------------------------------------------------------
    def output_head(self) -> OutputHead:
        if self._head is None:
            self._head = load_output_head(self.gguf, available_memory())
        return self._head

    def residual_states(
        self, ids: Sequence[int]
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
        """Every layer's output at the last of `ids` ((n_layer, n_embd), layer 1 first),
        and the model's own logits there."""
        with self._lock:
            self._check_open()
            if self._lens is None:
                capture = GraphCapture(
                    lambda name: LAYER_OUTPUT.match(name) is not None, self._keep_last_row
                )
                self._lens = InspectionContext(
                    self.engine.model_ptr,
                    capture,
                    n_ctx=self.engine.n_ctx,
                    n_batch=min(LENS_BATCH, self.engine.n_ctx),
                    threads=self.engine.info.n_threads,
                )
            self._states.clear()
            logits = self._lens.run(ids)
            missing = [n for n in range(self.n_layer) if n not in self._states]
            if missing:
                raise InspectionError(
                    f"llama.cpp's graph for this model names no output for layer "
                    f"{missing[0] + 1} (l_out-{missing[0]})"
                )
            states = np.stack([self._states[n] for n in range(self.n_layer)])
        return states, logits

    def _keep_last_row(self, name: str, array: npt.NDArray[np.float32]) -> None:
        # (1, 1, rows, n_embd): the last row of the last micro-batch is the last position.
        match = LAYER_OUTPUT.match(name)
        if match is not None:
            self._states[int(match.group(1))] = array.reshape(-1, array.shape[-1])[-1].copy()

    # ---- attention --------------------------------------------------------------------
    def attention(self, ids: Sequence[int]) -> list[npt.NDArray[np.float32]]:
        """Per layer, the weights of every head over the prompt: (n_head, n, n), row i
        the attention of position i over positions 0..n-1."""
        n = len(ids)
        if n > MAX_ATTENTION_TOKENS:
            raise InspectionError(
                f"the attention view reads prompts of up to {MAX_ATTENTION_TOKENS} tokens; "
                f"this one has {n}"
            )
        found: dict[int, npt.NDArray[np.float32]] = {}

        def keep(name: str, array: npt.NDArray[np.float32]) -> None:
            match = ATTENTION.match(name)
            if match is not None:
                # (streams, n_head, n_tokens, n_kv): kv cells of a fresh cache holding one
                # sequence are its positions in order; the cache is padded beyond them.
                found[int(match.group(1))] = array.reshape(-1, *array.shape[-2:])[:, :, :n]

        with self._lock:
            self._check_open()
            if self._attention is None:
                capture = GraphCapture(lambda name: ATTENTION.match(name) is not None)
                self._attention = InspectionContext(
                    self.engine.model_ptr,
                    capture,
                    n_ctx=MAX_ATTENTION_TOKENS,
                    n_batch=MAX_ATTENTION_TOKENS,
                    threads=self.engine.info.n_threads,
                )
            self._attention.capture.on_node = keep
            self._attention.run(ids)
        if len(found) != self.n_layer:
            raise InspectionError(
                "llama.cpp's graph for this model shows no attention weights "
                f"(kq_soft_max) for {self.n_layer - len(found)} of {self.n_layer} layers"
            )
        return [found[layer] for layer in range(self.n_layer)]

    def kv_head_of(self, head: int) -> int:
        """The key/value head a query head reads (grouped-query attention)."""
        group = max(1, self.n_head // max(1, self.n_head_kv))
        return head // group

    def sliding_window(self, layer: int) -> int | None:
        """The window of a sliding-window layer (0-based `layer`), None for a full one.
        Gemma 3: five local layers, then a global one (llama.cpp's swa pattern 6)."""
        window = self.gguf.arch_value("attention.sliding_window")
        if self.gguf.architecture != "gemma3" or not window:
            return None
        pattern = self.gguf.arch_value("attention.sliding_window_pattern")
        period = int(pattern) if isinstance(pattern, int) and pattern > 0 else 6
        return int(window) if layer % period < period - 1 else None

    def _check_open(self) -> None:
        if self._closed:
            raise InspectionError("the model was unloaded; look again at the new one")

    def free_contexts(self) -> None:
        """Give back the inspection contexts' memory; the next look makes them again."""
        with self._lock:
            self._free()

    def close(self) -> None:
        """Free the inspection contexts (waiting for one in use); the inspector is done."""
        with self._lock:
            self._closed = True
            self._free()

    def _free(self) -> None:
        for context in (self._lens, self._attention):
            if context is not None:
                context.close()
        self._lens = self._attention = None
