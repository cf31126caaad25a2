"""Broken GGUF files, many ways: the structural fields of a real small GGUF mutated one at
a time, truncations, wrong metadata types and values, and seeded random byte flips.

`cases(base)` yields (name, bytes); every case differs from the loadable base file in
one deliberate way. The format: magic, version u32, tensor count u64, metadata count
u64, then metadata (key string, type u32, value), tensor infos (name, n_dims u32, dims
u64 each, type u32, offset u64), padding to the alignment, tensor data.
"""

from __future__ import annotations

import random
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

STRING, ARRAY = 8, 9
_SIZES = {0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8}


@dataclass
class KV:
    key: str
    key_len_at: int
    type_at: int
    value_type: int
    value_at: int
    array_type_at: int = -1
    array_len_at: int = -1


@dataclass
class TensorInfo:
    name: str
    n_dims_at: int
    dims_at: list[int]
    type_at: int
    offset_at: int


@dataclass
class Layout:
    kvs: list[KV] = field(default_factory=list)
    tensors: list[TensorInfo] = field(default_factory=list)
    infos_end: int = 0


def _string(data: bytes, at: int) -> tuple[str, int]:
    (n,) = struct.unpack_from("<Q", data, at)
    return data[at + 8 : at + 8 + n].decode("utf-8", "replace"), at + 8 + n


def _skip_value(data: bytes, at: int, kind: int) -> int:
    if kind == STRING:
        return _string(data, at)[1]
    if kind == ARRAY:
        element, count = struct.unpack_from("<IQ", data, at)
        at += 12
        for _ in range(count):
            at = _skip_value(data, at, element)
        return at
    return at + _SIZES[kind]


def layout(data: bytes) -> Layout:
    """Where each field of a valid GGUF (version 3) is."""
    n_tensors, n_kv = struct.unpack_from("<QQ", data, 8)
    at = 24
    found = Layout()
    for _ in range(n_kv):
        key_at = at
        key, at = _string(data, at)
        (kind,) = struct.unpack_from("<I", data, at)
        kv = KV(key, key_at, at, kind, at + 4)
        at += 4
        if kind == ARRAY:
            kv.array_type_at, kv.array_len_at = at, at + 4
        at = _skip_value(data, at, kind)
        found.kvs.append(kv)
    for _ in range(n_tensors):
        name, at = _string(data, at)
        (n_dims,) = struct.unpack_from("<I", data, at)
        dims = [at + 4 + 8 * i for i in range(n_dims)]
        type_at = at + 4 + 8 * n_dims
        found.tensors.append(TensorInfo(name, at, dims, type_at, type_at + 4))
        at = type_at + 12
    found.infos_end = at
    return found


def _put(data: bytes, at: int, fmt: str, value: int) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, at, value)
    return bytes(out)


def cases(base: bytes, random_flips: int = 60, seed: int = 0) -> Iterator[tuple[str, bytes]]:
    lay = layout(base)
    size = len(base)
    # Truncations: every byte of the fixed header, then across metadata, infos and data.
    offsets = sorted(
        {*range(0, 25)}
        | {kv.key_len_at + d for kv in lay.kvs[::3] for d in (0, 5, 9)}
        | {t.n_dims_at for t in lay.tensors[::4]}
        | {t.offset_at + 4 for t in lay.tensors[::5]}
        | {lay.infos_end + d for d in (0, 1, 17)}
        | {size * k // 16 for k in range(1, 16)}
        | {size - 1}
    )
    for cut in offsets:
        yield f"truncated-at-{cut}", base[:cut]

    for magic in (b"GGML", b"\0\0\0\0", b"FUGG", b"gguf"):
        yield f"magic-{magic!r}", magic + base[4:]
    for version in (0, 1, 4, 0xFFFFFFFF):
        yield f"version-{version}", _put(base, 4, "<I", version)
    for count in (0, 1, 2**31, 2**32 + 1, 2**63 - 1, 2**64 - 1):
        yield f"tensor-count-{count}", _put(base, 8, "<Q", count)
        yield f"metadata-count-{count}", _put(base, 16, "<Q", count)
    n_kv = len(lay.kvs)
    yield "metadata-count-one-more", _put(base, 16, "<Q", n_kv + 1)
    yield "metadata-count-one-less", _put(base, 16, "<Q", n_kv - 1)

    for kv in lay.kvs:
        yield f"{kv.key}:key-length-past-end", _put(base, kv.key_len_at, "<Q", 2**62)
        yield f"{kv.key}:key-length-zero", _put(base, kv.key_len_at, "<Q", 0)
        yield f"{kv.key}:value-type-99", _put(base, kv.type_at, "<I", 99)
        wrong = {STRING: 4, ARRAY: STRING, 4: STRING, 6: STRING, 5: 10}.get(kv.value_type, STRING)
        yield f"{kv.key}:value-type-{kv.value_type}-as-{wrong}", _put(base, kv.type_at, "<I", wrong)
        if kv.value_type == STRING:
            yield f"{kv.key}:string-past-end", _put(base, kv.value_at, "<Q", size * 4)
            yield f"{kv.key}:string-huge", _put(base, kv.value_at, "<Q", 2**63)
        if kv.value_type == ARRAY:
            yield f"{kv.key}:array-length-huge", _put(base, kv.array_len_at, "<Q", 2**60)
            yield f"{kv.key}:array-length-zero", _put(base, kv.array_len_at, "<Q", 0)
            yield f"{kv.key}:array-type-99", _put(base, kv.array_type_at, "<I", 99)
            yield f"{kv.key}:array-of-arrays", _put(base, kv.array_type_at, "<I", ARRAY)

    for t in lay.tensors[::2]:
        yield f"{t.name}:n-dims-0", _put(base, t.n_dims_at, "<I", 0)
        yield f"{t.name}:n-dims-9", _put(base, t.n_dims_at, "<I", 9)
        yield f"{t.name}:dim-huge", _put(base, t.dims_at[0], "<Q", 2**40)
        yield f"{t.name}:dim-zero", _put(base, t.dims_at[0], "<Q", 0)
        yield f"{t.name}:dims-overflow", _put(base, t.dims_at[0], "<Q", 2**63 + 7)
        yield f"{t.name}:type-99", _put(base, t.type_at, "<I", 99)
        yield f"{t.name}:type-f16", _put(base, t.type_at, "<I", 1)
        yield f"{t.name}:type-q4_0", _put(base, t.type_at, "<I", 2)
        yield f"{t.name}:offset-past-end", _put(base, t.offset_at, "<Q", size * 8)
        yield f"{t.name}:offset-huge", _put(base, t.offset_at, "<Q", 2**63)
        yield (
            f"{t.name}:offset-misaligned",
            _put(base, t.offset_at, "<Q", struct.unpack_from("<Q", base, t.offset_at)[0] + 3),
        )

    rng = random.Random(seed)
    for index in range(random_flips):
        out = bytearray(base)
        for _ in range(rng.randint(1, 4)):
            at = rng.randrange(4, lay.infos_end)
            out[at] = rng.randrange(256)
        yield f"random-flips-{index}", bytes(out)
