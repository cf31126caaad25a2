"""Where each WordPiece token sits in the text it came from.

WordPiece normalises before it cuts (lowercases, strips accents, drops control characters
and the whitespace between words), so its tokens' text is not the input's bytes and the
plain offset walk (tokens.piece_end) finds nothing. Each input character becomes at most
one normalised character, so a token is found by walking the input and comparing both
sides after the same folding.
"""

from __future__ import annotations

from app.core.tokenizer.llama_unicode import tables
from app.core.tokenizer.wordpiece_replay import is_own_word


class WordPieceAligner:
    def __init__(self, data: bytes) -> None:
        # surrogateescape: an invalid byte is one character, so byte offsets stay exact.
        self.text = data.decode("utf-8", "surrogateescape")
        self.offsets = [0]
        for char in self.text:
            self.offsets.append(self.offsets[-1] + len(char.encode("utf-8", "surrogateescape")))
        self.pos = 0
        self._table = tables()

    def _fold(self, char: str) -> str:
        """The character as both sides are compared: no accents, lowercase; "" for what
        WordPiece drops (whitespace, control characters, accent marks)."""
        table = self._table
        cpt = table.strip_accents(ord(char))
        if table.is_whitespace(cpt) or table.category(cpt) in ("C", "M") or cpt == 0xFFFD:
            return ""
        return chr(table.to_lower(cpt))

    def _is_space(self, pos: int) -> bool:
        return self._table.is_whitespace(ord(self.text[pos]))

    def span(self, piece: bytes, unknown: bool) -> tuple[int, int]:
        """The byte span of the next token: `piece` is its text (" word" at a word's
        start), `unknown` when it is the unknown token standing for a whole word."""
        text, n = self.text, len(self.text)
        # What WordPiece dropped before a token (the space before a word) is shown with it,
        # as "▁" in its vocabulary text says.
        start = pos = self.pos
        while pos < n and not self._fold(text[pos]):
            pos += 1
        if unknown:
            if pos < n and is_own_word(ord(text[pos])):
                pos += 1
            else:
                while pos < n and not self._is_space(pos) and not is_own_word(ord(text[pos])):
                    pos += 1
        else:
            target = "".join(self._fold(c) for c in piece.decode("utf-8", "replace").lstrip(" "))
            if not target:
                return self.offsets[start], self.offsets[start]
            folded = ""
            while pos < n and len(folded) < len(target):
                folded += self._fold(text[pos])
                pos += 1
                if not target.startswith(folded):
                    return self.offsets[start], self.offsets[start]  # not found here
            # Accent marks WordPiece dropped after the last letter belong to this token.
            while pos < n and not self._fold(text[pos]) and not self._is_space(pos):
                pos += 1
        self.pos = pos
        return self.offsets[start], self.offsets[pos]
