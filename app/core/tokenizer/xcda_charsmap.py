"""SentencePiece's precompiled character map (`tokenizer.ggml.precompiled_charsmap`): the
longest input prefix it knows, and what it becomes (NFKC-style folding of full-width
forms, ligatures, …), read as llama.cpp reads it (llm_tokenizer_ugm, xcda_array_view).

The blob is a 32-bit size, then an XOR-compressed compact double array (one packed
32-bit entry per node: BASE in bits 10-30 shifted by bit 9, LCHECK in bits 0-7, LEAF in
bit 8), then the NUL-terminated replacement strings the leaves point into.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

from app.core.errors import ModelFileError


class CharsMap:
    def __init__(self, blob: bytes) -> None:
        if len(blob) < 4:
            raise ModelFileError("the precompiled character map is too small")
        size = int.from_bytes(blob[:4], "little")
        if size + 4 >= len(blob):
            raise ModelFileError("the precompiled character map's index runs past its end")
        if size % 4:
            raise ModelFileError("the precompiled character map's index is not whole entries")
        self.nodes: npt.NDArray[np.uint32] = np.frombuffer(blob[4 : 4 + size], dtype="<u4")
        self.replacements = blob[4 + size :]

    def _node(self, index: int) -> int:
        if index >= len(self.nodes):
            raise ModelFileError("the precompiled character map points outside itself")
        return int(self.nodes[index])

    def _base(self, index: int) -> int:
        node = self._node(index)
        return (node >> 10) << ((node & (1 << 9)) >> 6)

    def longest_match(self, data: bytes, offset: int) -> tuple[bytes, int] | None:
        """The replacement for the longest prefix of data[offset:] the map knows, and how
        many input bytes it replaces; None when no prefix is in the map."""
        length = 0
        value = 0
        index = self._base(0)
        for position in range(offset, len(data)):
            byte = data[position]
            if byte == 0:
                break
            index ^= byte
            node = self._node(index)
            if node & ((1 << 31) | 0xFF) != byte:  # LCHECK: not a child of the last node
                break
            leaf = (node >> 8) & 1
            index ^= self._base(index)
            if leaf:
                length = position - offset + 1
                value = self._node(index) & ((1 << 31) - 1)
        if not length:
            return None
        if value >= len(self.replacements):
            raise ModelFileError("the precompiled character map points outside itself")
        end = self.replacements.find(b"\0", value)
        if end < 0:
            raise ModelFileError("the precompiled character map has an unterminated string")
        return self.replacements[value:end], length
