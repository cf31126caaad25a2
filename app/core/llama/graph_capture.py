"""Reading llama.cpp's computation graph while it runs: the eval callback.

llama.cpp calls `cb_eval` for every node of the graph it schedules, first asking whether
the node is wanted (`ask` true), then, once it is computed, handing it over (`ask`
false). Answering yes for `l_out-N` (each layer's output: the residual stream) and
`kq_soft_max-N` (the attention weights, only with flash attention off) and copying those
tensors out with `ggml_backend_tensor_get` is what llama.cpp's own eval-callback and
cvector-generator tools do. The callback runs on the decoding thread inside C: an
exception must never leave it (it would return 0 and stop the computation).

The callback is fixed when a context is created, so inspection needs a context of its
own (InspectionContext), never the one that generates.
"""

from __future__ import annotations

import ctypes
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from app.core.errors import PlaygroundError
from app.core.llama.llama_runtime import ggml, llama

log = logging.getLogger(__name__)
GGML_MAX_DIMS = 4
GGML_TYPE_F32 = 0
LAYER_OUTPUT = re.compile(r"l_out-(\d+)$")
ATTENTION = re.compile(r"kq_soft_max-(\d+)$")


class GgmlTensor(ctypes.Structure):
    """`struct ggml_tensor` of ggml.h (GGML_MAX_DIMS 4, GGML_MAX_SRC 10, GGML_MAX_NAME 64)."""

    _fields_ = [
        ("type", ctypes.c_int),
        ("buffer", ctypes.c_void_p),
        ("ne", ctypes.c_int64 * GGML_MAX_DIMS),
        ("nb", ctypes.c_size_t * GGML_MAX_DIMS),
        ("op", ctypes.c_int),
        ("op_params", ctypes.c_int32 * 16),
        ("flags", ctypes.c_int32),
        ("src", ctypes.c_void_p * 10),
        ("view_src", ctypes.c_void_p),
        ("view_offs", ctypes.c_size_t),
        ("data", ctypes.c_void_p),
        ("name", ctypes.c_char * 64),
        ("extra", ctypes.c_void_p),
        ("padding", ctypes.c_char * 8),
    ]


class InspectionError(PlaygroundError):
    """The model's insides could not be read (an unsupported graph, a failed decode)."""


class GraphCapture:
    """Copies the graph nodes whose names `wanted` accepts, as float32 arrays in ggml's
    order reversed (numpy's C order: shape (ne3, ne2, ne1, ne0)). A node computed in
    several micro-batches is kept as `on_node` decides (default: the last one)."""

    def __init__(
        self,
        wanted: Callable[[str], bool],
        on_node: Callable[[str, npt.NDArray[np.float32]], None] | None = None,
    ) -> None:
        self.wanted = wanted
        self.tensors: dict[str, npt.NDArray[np.float32]] = {}
        self.errors: list[str] = []
        self.on_node = on_node or self._keep
        lib = llama()
        self.callback = lib.ggml_backend_sched_eval_callback(self._called)
        library = ggml()
        self._get = library.ggml_backend_tensor_get
        self._get.argtypes = [ctypes.c_void_p, ctypes.c_void_p, ctypes.c_size_t, ctypes.c_size_t]
        self._get.restype = None
        self._nbytes = library.ggml_nbytes
        self._nbytes.argtypes = [ctypes.c_void_p]
        self._nbytes.restype = ctypes.c_size_t

    def _keep(self, name: str, array: npt.NDArray[np.float32]) -> None:
        self.tensors[name] = array

    def _called(self, pointer: Any, ask: bool, _user_data: Any) -> bool:
        try:
            tensor = ctypes.cast(pointer, ctypes.POINTER(GgmlTensor)).contents
            name = tensor.name.decode("utf-8", "replace")
            if ask:
                return self.wanted(name)
            if self.wanted(name):
                self.on_node(name, self._read(pointer, tensor, name))
        except Exception as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
        return True  # False would stop the computation

    def _read(self, pointer: Any, tensor: GgmlTensor, name: str) -> npt.NDArray[np.float32]:
        if tensor.type != GGML_TYPE_F32:
            raise InspectionError(f"{name} is not float32 (ggml type {tensor.type})")
        shape = tuple(int(tensor.ne[i]) for i in reversed(range(GGML_MAX_DIMS)))
        expected = int(np.prod(shape)) * 4
        size = int(self._nbytes(pointer))
        if size != expected:  # a view with gaps: not one of the nodes read here
            raise InspectionError(f"{name} is not contiguous ({size} bytes, {expected})")
        out = np.empty(shape, dtype=np.float32)
        self._get(pointer, out.ctypes.data, 0, size)
        return out


class InspectionContext:
    """A small llama.cpp context of its own on an already loaded model, with the graph
    capture attached and flash attention off (so the attention weights exist)."""

    def __init__(
        self, model: Any, capture: GraphCapture, *, n_ctx: int, n_batch: int, threads: int
    ) -> None:
        lib = llama()
        self._lib = lib
        params = lib.llama_context_default_params()
        params.n_ctx = n_ctx
        params.n_batch = n_batch
        params.n_ubatch = n_batch
        params.n_seq_max = 1
        params.n_threads = threads
        params.n_threads_batch = threads
        params.flash_attn_type = 0
        params.no_perf = True
        params.cb_eval = capture.callback
        params.cb_eval_user_data = None
        self.capture = capture  # keeps the callback alive as long as the context
        self._ctx = lib.llama_init_from_model(model, params)
        if not self._ctx:
            raise InspectionError(
                f"llama.cpp could not make an inspection context of {n_ctx} tokens "
                "(not enough memory?)"
            )
        self.n_ctx = int(lib.llama_n_ctx(self._ctx))
        self.n_batch = int(lib.llama_n_batch(self._ctx))
        self._batch = lib.llama_batch_init(self.n_batch, 0, 1)

    def run(self, ids: Sequence[int]) -> npt.NDArray[np.float32]:
        """Decode `ids` from position 0 (the cache cleared first); the logits of the
        last position, which is the only one that asks for them."""
        lib = self._lib
        if len(ids) > self.n_ctx:
            raise InspectionError(f"{len(ids)} tokens do not fit {self.n_ctx}")
        lib.llama_memory_clear(lib.llama_get_memory(self._ctx), True)
        batch = self._batch
        for start in range(0, len(ids), self.n_batch):
            chunk = ids[start : start + self.n_batch]
            for i, token in enumerate(chunk):
                batch.token[i] = token
                batch.pos[i] = start + i
                batch.n_seq_id[i] = 1
                batch.seq_id[i][0] = 0
                batch.logits[i] = start + i == len(ids) - 1
            batch.n_tokens = len(chunk)
            rc = lib.llama_decode(self._ctx, batch)
            if rc != 0:
                raise InspectionError(f"llama_decode failed with code {rc}")
        if self.capture.errors:
            raise InspectionError("reading the graph failed: " + self.capture.errors[0])
        n_vocab = int(
            lib.llama_vocab_n_tokens(lib.llama_model_get_vocab(lib.llama_get_model(self._ctx)))
        )
        logits = lib.llama_get_logits_ith(self._ctx, -1)
        return np.ctypeslib.as_array(logits, shape=(n_vocab,)).copy()

    def close(self) -> None:
        if self._batch is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx:
            self._lib.llama_free(self._ctx)
            self._ctx = None

    def __enter__(self) -> InspectionContext:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
