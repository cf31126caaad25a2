"""A weight matrix of a GGUF file as float32, dequantized by ggml itself.

ggml's own `to_float` for the tensor's type (`ggml_get_type_traits`) is exact to what
llama.cpp computes with and fast: 1.5 s for Gemma 3's 262,144 × 640 Q8_0 matrix here,
where gguf-py's numpy dequantizer took 12–16 s.
"""

from __future__ import annotations

import ctypes
from pathlib import Path

import numpy as np
import numpy.typing as npt
from gguf import GGMLQuantizationType

from app.core.gguf.gguf_file import TensorInfo
from app.core.llama.graph_capture import InspectionError
from app.core.llama.llama_runtime import ggml

_TO_FLOAT = ctypes.CFUNCTYPE(None, ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64)


class TypeTraits(ctypes.Structure):
    """`struct ggml_type_traits` of ggml.h."""

    _fields_ = [
        ("type_name", ctypes.c_char_p),
        ("blck_size", ctypes.c_int64),
        ("blck_size_interleave", ctypes.c_int64),
        ("type_size", ctypes.c_size_t),
        ("is_quantized", ctypes.c_bool),
        ("to_float", ctypes.c_void_p),
        ("from_float_ref", ctypes.c_void_p),
    ]


def float_bytes(info: TensorInfo) -> int:
    return info.n_elements * 4


def as_float32(path: Path, info: TensorInfo) -> npt.NDArray[np.float32]:
    """The tensor in numpy's order: shape (ne1, ne0) for a matrix (rows of ne0)."""
    shape = tuple(reversed(info.shape))
    raw = np.memmap(path, dtype=np.uint8, mode="r", offset=info.offset, shape=(info.n_bytes,))
    try:
        kind = GGMLQuantizationType[info.ggml_type]
    except KeyError:
        raise InspectionError(f"{info.name} has a type this ggml does not know") from None
    if kind == GGMLQuantizationType.F32:
        return np.array(raw.view(np.float32)).reshape(shape)
    if kind == GGMLQuantizationType.F16:
        return raw.view(np.float16).astype(np.float32).reshape(shape)
    library = ggml()
    library.ggml_get_type_traits.argtypes = [ctypes.c_int]
    library.ggml_get_type_traits.restype = ctypes.POINTER(TypeTraits)
    traits = library.ggml_get_type_traits(int(kind.value)).contents
    if not traits.to_float:
        raise InspectionError(f"{info.name}: ggml cannot turn {info.ggml_type} into floats")
    out = np.empty(info.n_elements, dtype=np.float32)
    source = np.ascontiguousarray(raw)
    _TO_FLOAT(traits.to_float)(source.ctypes.data, out.ctypes.data, info.n_elements)
    return out.reshape(shape)
