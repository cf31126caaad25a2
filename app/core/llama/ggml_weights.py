"""A weight matrix of a GGUF file as float32, dequantized by ggml itself.

ggml's own `to_float` for the tensor's type (`ggml_get_type_traits`) is exact to what
llama.cpp computes with and fast: 1.5 s for Gemma 3's 262,144 × 640 Q8_0 matrix here,
where gguf-py's numpy dequantizer took 12–16 s.
"""

from __future__ import annotations

import ctypes
from collections.abc import Callable
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


ROWS_AT_ONCE = 8192  # dequantized per call when writing a matrix transposed


def _converter(info: TensorInfo) -> Callable[[npt.NDArray[np.uint8], int], npt.NDArray[np.float32]]:
    """What turns `count` elements of the tensor's raw bytes into float32."""
    try:
        kind = GGMLQuantizationType[info.ggml_type]
    except KeyError:
        raise InspectionError(f"{info.name} has a type this ggml does not know") from None
    if kind == GGMLQuantizationType.F32:
        return lambda raw, _count: np.array(raw.view(np.float32))
    if kind == GGMLQuantizationType.F16:
        return lambda raw, _count: raw.view(np.float16).astype(np.float32)
    library = ggml()
    library.ggml_get_type_traits.argtypes = [ctypes.c_int]
    library.ggml_get_type_traits.restype = ctypes.POINTER(TypeTraits)
    traits = library.ggml_get_type_traits(int(kind.value)).contents
    if not traits.to_float:
        raise InspectionError(f"{info.name}: ggml cannot turn {info.ggml_type} into floats")
    to_float = _TO_FLOAT(traits.to_float)

    def convert(raw: npt.NDArray[np.uint8], count: int) -> npt.NDArray[np.float32]:
        out = np.empty(count, dtype=np.float32)
        to_float(np.ascontiguousarray(raw).ctypes.data, out.ctypes.data, count)
        return out

    return convert


def _raw(path: Path, info: TensorInfo) -> npt.NDArray[np.uint8]:
    return np.memmap(path, dtype=np.uint8, mode="r", offset=info.offset, shape=(info.n_bytes,))


def as_float32(path: Path, info: TensorInfo) -> npt.NDArray[np.float32]:
    """The tensor in numpy's order: shape (ne1, ne0) for a matrix (rows of ne0)."""
    convert = _converter(info)
    return convert(_raw(path, info), info.n_elements).reshape(tuple(reversed(info.shape)))


def as_float32_columns(path: Path, info: TensorInfo) -> npt.NDArray[np.float32]:
    """A matrix (ne1 rows of ne0) transposed: shape (ne0, ne1), contiguous. Reading a row
    of it is reading one column of the file's matrix; a product with many columns reads
    it in order (a tenth faster here than through the transposed view). Written a block
    of rows at a time, so the memory held is the result and one block, never twice it."""
    width, rows = info.shape[0], info.shape[1]
    convert = _converter(info)
    raw = _raw(path, info)
    row_bytes = info.n_bytes // rows
    out = np.empty((width, rows), dtype=np.float32)
    for start in range(0, rows, ROWS_AT_ONCE):
        count = min(ROWS_AT_ONCE, rows - start)
        block = raw[start * row_bytes : (start + count) * row_bytes]
        out[:, start : start + count] = convert(block, count * width).reshape(count, width).T
    return out
