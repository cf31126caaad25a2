"""Strict, fast reading of a GGUF file's header, metadata and tensor table.

A file is checked here before llama.cpp ever sees it, so that a broken or hostile file
is a clear error and never a crash inside native code. The `gguf` package provides the
format's constants (value types, quantization block sizes, architecture names); its
`GGUFReader` is not used because it materialises every array element as a numpy view
(25 s for Gemma 3's 262,144-token vocabulary on this machine's CPU).

Every length and count is bounded by the bytes actually left in the file before it is
trusted. Large arrays (the vocabulary, scores, merges) are skipped over and only their
length is kept, except the ones named in `KEEP_ARRAYS`.
"""

from __future__ import annotations

import math
import mmap
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from gguf.constants import (
    GGML_QUANT_SIZES,
    GGUF_DEFAULT_ALIGNMENT,
    GGUF_MAGIC,
    MODEL_ARCH_NAMES,
    GGMLQuantizationType,
    GGUFValueType,
)

from app.core.errors import ModelFileError

SUPPORTED_VERSIONS = (2, 3)
GGML_MAX_NAME = 64  # bytes, with the terminating zero: llama.cpp's limit for tensor names
MAX_KEY_LENGTH = 256  # metadata keys are dotted identifiers ("llama.block_count")
MAX_DIMS = 4
# Arrays small enough to keep their values (for the model card); others keep a length.
KEEP_ARRAY_MAX = 64
KEEP_ARRAYS = frozenset({"general.tags", "general.languages"})

_SCALARS: dict[int, tuple[str, int]] = {
    GGUFValueType.UINT8: ("<B", 1),
    GGUFValueType.INT8: ("<b", 1),
    GGUFValueType.UINT16: ("<H", 2),
    GGUFValueType.INT16: ("<h", 2),
    GGUFValueType.UINT32: ("<I", 4),
    GGUFValueType.INT32: ("<i", 4),
    GGUFValueType.FLOAT32: ("<f", 4),
    GGUFValueType.BOOL: ("<?", 1),
    GGUFValueType.UINT64: ("<Q", 8),
    GGUFValueType.INT64: ("<q", 8),
    GGUFValueType.FLOAT64: ("<d", 8),
}
SUPPORTED_ARCHITECTURES = frozenset(MODEL_ARCH_NAMES.values()) - {"clip", "wavtokenizer-dec"}


@dataclass(frozen=True)
class ArrayInfo:
    """A metadata array too large to keep: its element type and length."""

    element_type: str
    length: int


@dataclass(frozen=True)
class TensorInfo:
    name: str
    shape: tuple[int, ...]
    ggml_type: str
    offset: int  # absolute offset in the file
    n_bytes: int

    @property
    def n_elements(self) -> int:
        count = 1
        for dim in self.shape:
            count *= dim
        return count


@dataclass
class GGUFFile:
    path: Path
    version: int
    file_size: int
    metadata: dict[str, Any] = field(default_factory=dict)
    tensors: list[TensorInfo] = field(default_factory=list)

    @property
    def architecture(self) -> str:
        return str(self.metadata.get("general.architecture", ""))

    def arch_value(self, key: str) -> Any:
        return self.metadata.get(f"{self.architecture}.{key}")


class _Cursor:
    def __init__(self, buf: mmap.mmap | bytes, path: Path) -> None:
        self.buf = buf
        self.pos = 0
        self.size = len(buf)
        self.path = path

    def need(self, n: int, what: str) -> None:
        if n < 0 or self.pos + n > self.size:
            raise ModelFileError(
                f"{self.path.name}: truncated or corrupt GGUF: {what} at byte {self.pos} "
                f"needs {n} bytes but the file ends at {self.size}"
            )

    def unpack(self, fmt: str, n: int, what: str) -> Any:
        self.need(n, what)
        (value,) = struct.unpack_from(fmt, self.buf, self.pos)
        self.pos += n
        return value

    def u32(self, what: str) -> int:
        return int(self.unpack("<I", 4, what))

    def u64(self, what: str) -> int:
        return int(self.unpack("<Q", 8, what))

    def string(self, what: str) -> str:
        length = self.u64(f"length of {what}")
        self.need(length, what)
        raw = bytes(self.buf[self.pos : self.pos + length])
        self.pos += length
        return raw.decode("utf-8", "replace")

    def skip_string(self, what: str) -> None:
        length = self.u64(f"length of {what}")
        self.need(length, what)
        self.pos += length


def _value_type(raw: int, key: str, path: Path) -> GGUFValueType:
    try:
        return GGUFValueType(raw)
    except ValueError:
        raise ModelFileError(
            f"{path.name}: corrupt GGUF: metadata '{key}' has unknown value type {raw}"
        ) from None


def _read_value(
    cur: _Cursor, vtype: GGUFValueType, key: str, keep_arrays: frozenset[str] = frozenset()
) -> Any:
    if vtype == GGUFValueType.STRING:
        return cur.string(f"metadata '{key}'")
    if vtype == GGUFValueType.ARRAY:
        etype = _value_type(cur.u32(f"array type of '{key}'"), key, cur.path)
        count = cur.u64(f"array length of '{key}'")
        if etype == GGUFValueType.ARRAY:
            raise ModelFileError(f"{cur.path.name}: unsupported nested array in '{key}'")
        min_size = 8 if etype == GGUFValueType.STRING else _SCALARS[etype][1]
        cur.need(count * min_size, f"array '{key}' of {count} elements")
        keep = key in KEEP_ARRAYS or count <= KEEP_ARRAY_MAX
        if etype == GGUFValueType.STRING:
            if keep or key in keep_arrays:
                return [cur.string(f"element of '{key}'") for _ in range(count)]
            for _ in range(count):
                cur.skip_string(f"element of '{key}'")
        else:
            fmt, size = _SCALARS[etype]
            if key in keep_arrays:  # a large numeric array asked for: one numpy copy
                values = np.frombuffer(cur.buf, dtype=np.dtype(fmt), count=count, offset=cur.pos)
                cur.pos += count * size
                return values.copy()
            if keep:
                return [cur.unpack(fmt, size, f"element of '{key}'") for _ in range(count)]
            cur.pos += count * size
        return ArrayInfo(etype.name, count)
    fmt, size = _SCALARS[vtype]
    return cur.unpack(fmt, size, f"metadata '{key}'")


def read_gguf(
    path: Path, *, require_tensors: bool = True, keep_arrays: frozenset[str] = frozenset()
) -> GGUFFile:
    """Parse and validate a GGUF file; raise `ModelFileError` with the reason if it is bad.

    `require_tensors=False` accepts vocabulary-only files (no tensors, no architecture
    check beyond the tokenizer being present). `keep_arrays` names large arrays to read
    in full (such as the vocabulary, its scores and merges).
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileError(f"{path}: no such file")
    if path.is_dir():
        raise ModelFileError(f"{path}: is a folder, not a GGUF file")
    try:
        file_size = path.stat().st_size
        if file_size < 8:
            raise ModelFileError(f"{path.name}: not a GGUF file ({file_size} bytes)")
        with path.open("rb") as fh, mmap.mmap(fh.fileno(), 0, access=mmap.ACCESS_READ) as buf:
            return _parse(_Cursor(buf, path), path, file_size, require_tensors, keep_arrays)
    except PermissionError:
        raise ModelFileError(f"{path}: permission denied") from None
    except OSError as exc:
        raise ModelFileError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _parse(
    cur: _Cursor,
    path: Path,
    file_size: int,
    require_tensors: bool,
    keep_arrays: frozenset[str] = frozenset(),
) -> GGUFFile:
    magic = cur.u32("magic")
    if magic != GGUF_MAGIC:
        head = bytes(cur.buf[:4])
        raise ModelFileError(
            f"{path.name}: not a GGUF file (starts with {head!r}, expected b'GGUF')"
        )
    version = cur.u32("version")
    if version not in SUPPORTED_VERSIONS:
        raise ModelFileError(
            f"{path.name}: unsupported GGUF version {version} (supported: 2 and 3)"
        )
    n_tensors = cur.u64("tensor count")
    n_kv = cur.u64("metadata count")
    # Each metadata entry takes at least 12 bytes, each tensor entry at least 28.
    if n_kv * 12 > file_size or n_tensors * 28 > file_size:
        raise ModelFileError(
            f"{path.name}: corrupt GGUF header: {n_tensors} tensors and {n_kv} metadata "
            f"entries cannot fit in {file_size} bytes"
        )
    gguf = GGUFFile(path=path, version=version, file_size=file_size)
    for index in range(n_kv):
        key = cur.string("metadata key")
        if not key or len(key) > MAX_KEY_LENGTH or not key.isprintable():
            raise ModelFileError(
                f"{path.name}: corrupt GGUF: metadata entry {index} has no valid key"
            )
        vtype = _value_type(cur.u32(f"type of '{key}'"), key, path)
        gguf.metadata[key] = _read_value(cur, vtype, key, keep_arrays)

    alignment = gguf.metadata.get("general.alignment", GGUF_DEFAULT_ALIGNMENT)
    if not isinstance(alignment, int) or alignment <= 0 or alignment & (alignment - 1):
        raise ModelFileError(f"{path.name}: invalid general.alignment {alignment!r}")

    raw_tensors: list[tuple[str, tuple[int, ...], GGMLQuantizationType, int]] = []
    for index in range(n_tensors):
        name = cur.string(f"name of tensor {index}")
        if not name or len(name.encode("utf-8")) >= GGML_MAX_NAME or not name.isprintable():
            raise ModelFileError(f"{path.name}: corrupt GGUF: tensor {index} has no valid name")
        n_dims = cur.u32(f"dimensions of tensor '{name}'")
        if not 1 <= n_dims <= MAX_DIMS:
            raise ModelFileError(f"{path.name}: tensor '{name}' has {n_dims} dimensions")
        shape = tuple(cur.u64(f"shape of tensor '{name}'") for _ in range(n_dims))
        raw_type = cur.u32(f"type of tensor '{name}'")
        try:
            ttype = GGMLQuantizationType(raw_type)
        except ValueError:
            raise ModelFileError(
                f"{path.name}: tensor '{name}' has unknown type {raw_type}"
            ) from None
        rel_offset = cur.u64(f"offset of tensor '{name}'")
        raw_tensors.append((name, shape, ttype, rel_offset))

    data_start = (cur.pos + alignment - 1) // alignment * alignment
    for name, shape, ttype, rel_offset in raw_tensors:
        if ttype not in GGML_QUANT_SIZES:
            raise ModelFileError(f"{path.name}: tensor '{name}' has unsupported type {ttype.name}")
        block, type_size = GGML_QUANT_SIZES[ttype]
        if any(d == 0 for d in shape) or shape[0] % block:
            raise ModelFileError(
                f"{path.name}: tensor '{name}' has an invalid shape {list(shape)} for {ttype.name}"
            )
        n_elements = 1
        for dim in shape:
            n_elements *= dim
        n_bytes = n_elements // block * type_size
        start = data_start + rel_offset
        if rel_offset % alignment or start + n_bytes > file_size:
            raise ModelFileError(
                f"{path.name}: truncated or corrupt GGUF: tensor '{name}' ({n_bytes} bytes at "
                f"offset {start}) lies outside the file ({file_size} bytes)"
            )
        gguf.tensors.append(TensorInfo(name, shape, ttype.name, start, n_bytes))

    _check_model(gguf, require_tensors)
    return gguf


def _check_model(gguf: GGUFFile, require_tensors: bool) -> None:
    name = gguf.path.name
    arch = gguf.metadata.get("general.architecture")
    if not isinstance(arch, str) or not arch:
        raise ModelFileError(f"{name}: GGUF has no general.architecture")
    if not isinstance(gguf.metadata.get("tokenizer.ggml.tokens"), ArrayInfo | list):
        raise ModelFileError(f"{name}: GGUF has no tokenizer vocabulary (tokenizer.ggml.tokens)")
    if require_tensors:
        if arch not in SUPPORTED_ARCHITECTURES:
            raise ModelFileError(f"{name}: architecture '{arch}' is not supported by llama.cpp")
        if not gguf.tensors:
            raise ModelFileError(
                f"{name}: holds a vocabulary only (no weights); it can tokenize but not generate"
            )


def non_finite_numbers(metadata: dict[str, Any]) -> list[tuple[str, float]]:
    """Metadata numbers that are NaN or infinite (a damaged file): llama.cpp loads such a
    model and then aborts the whole process in its first decode (seen with a NaN
    `gemma3.attention.layer_norm_rms_epsilon`)."""
    return [
        (key, value)
        for key, value in metadata.items()
        if isinstance(value, float) and not math.isfinite(value)
    ]
