"""A Hub repository's GGUF files grouped by quantization, and which one to recommend.

Repositories name files by convention (`qwen2.5-0.5b-instruct-q4_k_m.gguf`,
`Llama-3.2-1B-Instruct-Q4_K_M.gguf`, `model.Q8_0.gguf`, `Q4_K_M/x-00001-of-00003.gguf`);
the quantization tag is parsed from the name, and split models (`-00001-of-0000N`) are
grouped so that one choice downloads every shard.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import PurePosixPath

_QUANT = re.compile(
    r"(?<![A-Za-z0-9])("
    r"UD-)?("
    r"I?Q[1-8](?:_[0-9A-Z]+)*|TQ[12]_0|MXFP4(?:_MOE)?|BF16|F16|FP16|F32|FP32|FP8"
    r")(?![A-Za-z0-9])",
    re.IGNORECASE,
)
_SHARD = re.compile(r"-(\d{5})-of-(\d{5})\.gguf$", re.IGNORECASE)

# Q4_K_M first, as llama.cpp's `-hf` picks when no tag is given; then the nearest
# balance of size and quality; anything else falls back to the smallest file.
PREFERENCE = (
    "Q4_K_M",
    "Q4_K_S",
    "Q4_0",
    "IQ4_XS",
    "IQ4_NL",
    "Q5_K_M",
    "Q5_K_S",
    "Q5_0",
    "Q6_K",
    "Q8_0",
    "Q3_K_L",
    "Q3_K_M",
    "BF16",
    "F16",
    "F32",
)


@dataclass(frozen=True)
class HubFile:
    """One file of a repository, as the Hub lists it."""

    path: str
    size: int
    sha256: str | None = None  # the LFS object id; None for files stored in git


@dataclass(frozen=True)
class ShardInfo:
    index: int  # 1-based
    total: int
    stem: str  # the name without the -0000i-of-0000N.gguf suffix


@dataclass
class QuantGroup:
    """Every file that makes one downloadable model: one GGUF, or all shards of a split one."""

    quant: str
    files: list[HubFile] = field(default_factory=list)
    shards_expected: int = 1

    @property
    def size(self) -> int:
        return sum(f.size for f in self.files)

    @property
    def complete(self) -> bool:
        return len(self.files) == self.shards_expected

    @property
    def first_file(self) -> HubFile:
        return self.files[0]

    @property
    def label(self) -> str:
        name = PurePosixPath(self.first_file.path).name
        if self.shards_expected > 1:
            shard = shard_info(name)
            stem = shard.stem if shard else name
            return f"{stem} ({self.shards_expected} parts)"
        return name


def quant_of(filename: str) -> str:
    """The quantization tag in a GGUF file name (`Q4_K_M`, `IQ2_XXS`, `F16`), or `other`."""
    name = PurePosixPath(filename).name
    name = _SHARD.sub(".gguf", name)
    matches = list(_QUANT.finditer(name.removesuffix(".gguf").removesuffix(".GGUF")))
    if not matches:
        folder = PurePosixPath(filename).parent.name
        matches = list(_QUANT.finditer(folder)) if folder else []
    if not matches:
        return "other"
    match = matches[-1]
    quant = match.group(2).upper()
    quant = {"FP16": "F16", "FP32": "F32"}.get(quant, quant)
    return f"UD-{quant}" if match.group(1) else quant


def shard_info(filename: str) -> ShardInfo | None:
    name = PurePosixPath(filename).name
    match = _SHARD.search(name)
    if match is None:
        return None
    return ShardInfo(int(match.group(1)), int(match.group(2)), name[: match.start()])


def is_projector(filename: str) -> bool:
    """Vision projectors (`mmproj-*.gguf`) are companions, not language models."""
    return "mmproj" in PurePosixPath(filename).name.lower()


def group_files(files: Iterable[HubFile]) -> list[QuantGroup]:
    """GGUF files grouped into downloadable models, recommended first, then by size."""
    groups: dict[tuple[str, str], QuantGroup] = {}
    for file in files:
        if not file.path.lower().endswith(".gguf") or is_projector(file.path):
            continue
        shard = shard_info(file.path)
        if shard is None:
            key = (file.path, "")
            groups[key] = QuantGroup(quant_of(file.path), [file])
            continue
        folder = str(PurePosixPath(file.path).parent)
        key = (folder, shard.stem)
        group = groups.setdefault(key, QuantGroup(quant_of(file.path), [], shard.total))
        group.files.append(file)
    for group in groups.values():
        group.files.sort(key=lambda f: (shard_info(f.path) or ShardInfo(1, 1, "")).index)
    ordered = sorted(groups.values(), key=lambda g: (g.size, g.label))
    best = recommended(ordered)
    if best is not None:
        ordered.remove(best)
        ordered.insert(0, best)
    return ordered


def recommended(groups: Iterable[QuantGroup]) -> QuantGroup | None:
    """Q4_K_M when the repository has it, else the next in PREFERENCE, else the smallest."""
    candidates = [g for g in groups if g.complete]
    if not candidates:
        return None

    def rank(group: QuantGroup) -> tuple[int, int]:
        quant = group.quant.removeprefix("UD-")
        order = PREFERENCE.index(quant) if quant in PREFERENCE else len(PREFERENCE)
        return order, group.size

    return min(candidates, key=rank)
