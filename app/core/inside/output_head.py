"""The model's last step outside the layers, applied to any layer's residual stream: the
final norm, the output matrix and, where the model has one, the logit soft-cap.

Read from the GGUF, by architecture: llama (Llama 2/3, SmolLM, Mistral), qwen2 and gemma3
norm with RMSNorm (Gemma's converter stores its weights with the +1 already added);
Gemma 2 and 3 may cap the logits (`final_logit_softcapping`). An architecture whose last
step differs (a logit scale, a LayerNorm with bias...) is refused in words rather than
shown wrong.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.core.errors import PlaygroundError
from app.core.gguf.gguf_file import GGUFFile, TensorInfo
from app.core.llama.ggml_weights import as_float32, as_float32_columns, float_bytes
from app.core.units import format_bytes

SUPPORTED = ("llama", "qwen2", "gemma3")


class UnsupportedModel(PlaygroundError):
    """The views inside the model cannot read this model (yet), or it is too big."""


@dataclass
class OutputHead:
    norm: npt.NDArray[np.float32]  # (n_embd,)
    eps: float
    columns: npt.NDArray[np.float32]  # the output matrix transposed: (n_embd, n_vocab)
    softcap: float | None

    def logits(self, states: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """(k, n_embd) residual states → (k, n_vocab) logits, as the last layer's are."""
        states = states.astype(np.float32, copy=False)
        scale = 1.0 / np.sqrt(np.mean(states * states, axis=1, keepdims=True) + self.eps)
        normed = (states * scale) * self.norm
        logits = normed @ self.columns
        if self.softcap:
            logits = self.softcap * np.tanh(logits / self.softcap)
        return np.asarray(logits, dtype=np.float32)


def _tensor(gguf: GGUFFile, name: str) -> TensorInfo | None:
    return next((t for t in gguf.tensors if t.name == name), None)


def check_supported(gguf: GGUFFile) -> None:
    arch = gguf.architecture
    if arch not in SUPPORTED:
        raise UnsupportedModel(
            f"the views inside the model do not support the {arch or 'unknown'} "
            f"architecture yet (they read {', '.join(SUPPORTED)})"
        )


def load_output_head(gguf: GGUFFile, available: int | None = None) -> OutputHead:
    """The final norm and output matrix of `gguf` (tied to the embeddings when the file
    has no output.weight). `available`: bytes of memory free, to refuse in words."""
    check_supported(gguf)
    norm_info = _tensor(gguf, "output_norm.weight")
    matrix_info = _tensor(gguf, "output.weight") or _tensor(gguf, "token_embd.weight")
    if norm_info is None or matrix_info is None:
        raise UnsupportedModel(f"{gguf.path.name} has no output norm or output matrix")
    need = float_bytes(matrix_info)
    if available is not None and need > available:
        raise UnsupportedModel(
            f"projecting every layer needs {format_bytes(need)} for the output matrix as "
            f"float32 ({matrix_info.shape[1]:,} tokens × {matrix_info.shape[0]:,}); "
            f"{format_bytes(available)} of memory is free"
        )
    eps = gguf.arch_value("attention.layer_norm_rms_epsilon")
    cap = gguf.arch_value("final_logit_softcapping")
    path = Path(gguf.path)
    return OutputHead(
        norm=as_float32(path, norm_info).reshape(-1),
        eps=float(eps) if eps is not None else 1e-6,
        columns=as_float32_columns(path, matrix_info),
        softcap=float(cap) if cap else None,
    )
