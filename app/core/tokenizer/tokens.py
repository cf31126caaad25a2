"""Facts about single tokens: type and placement in the input text."""

from __future__ import annotations

from typing import Literal, NamedTuple

TokenKind = Literal["normal", "control", "byte", "user_defined", "unknown", "unused"]

# llama.cpp's llama_token_attr bits
ATTR_UNKNOWN = 1 << 0
ATTR_UNUSED = 1 << 1
ATTR_NORMAL = 1 << 2
ATTR_CONTROL = 1 << 3
ATTR_USER_DEFINED = 1 << 4
ATTR_BYTE = 1 << 5


def token_kind(attr: int) -> TokenKind:
    if attr & ATTR_CONTROL:
        return "control"
    if attr & ATTR_BYTE:
        return "byte"
    if attr & ATTR_USER_DEFINED:
        return "user_defined"
    if attr & ATTR_UNKNOWN:
        return "unknown"
    if attr & ATTR_UNUSED:
        return "unused"
    return "normal"


class TokenInfo(NamedTuple):
    """A tuple of plain values: the garbage collector stops tracking such tuples, so the
    quarter of a million of them a megabyte of text makes never slows its full passes
    (which hold the GIL and froze the window for ~50 ms)."""

    id: int
    piece: bytes  # the bytes this token contributes to the text
    vocab_text: str  # the vocabulary entry (with ▁ / Ġ markers, <0xE2> for byte tokens)
    kind: TokenKind
    start: int  # byte offsets into the UTF-8 input; start == end if not in the text
    end: int

    def to_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "piece": self.piece.decode("utf-8", "replace") if self.piece else self.vocab_text,
            "bytes": self.piece.hex(),
            "vocab": self.vocab_text,
            "type": self.kind,
            "start": self.start,
            "end": self.end,
        }


SPM_SPACE = "▁".encode()


def _escaped_space_end(data: bytes, pos: int, piece: bytes) -> int | None:
    """Where `piece` ends if the text wrote some of its spaces as ▁: SentencePiece-style
    vocabularies write a space as ▁, so a ▁ typed in the text comes back as a space."""
    at = pos
    for k, byte in enumerate(piece):
        if byte == 0x20 and data.startswith(SPM_SPACE, at):
            at += len(SPM_SPACE)
        elif byte == 0x20 and k == 0 and at == pos:
            continue  # the space the tokenizer prefixes, not in the text
        elif at < len(data) and data[at] == byte:
            at += 1
        else:
            return None
    return at


def piece_end(data: bytes, pos: int, piece: bytes) -> int:
    """Where a token whose text is `piece` ends in `data` when it starts at `pos`: the
    piece itself, or without the space the tokenizer prefixes, or (normalised text, rare)
    as far as it matches, never past the input. An empty piece takes no bytes."""
    if not piece:
        return pos
    if data.startswith(piece, pos):
        return pos + len(piece)
    if piece.startswith(b" ") and data.startswith(piece[1:], pos):
        return pos + len(piece) - 1
    if b" " in piece and (end := _escaped_space_end(data, pos, piece)) is not None:
        return end
    match = 0
    while match < len(piece) and pos + match < len(data) and data[pos + match] == piece[match]:
        match += 1
    return pos + match
