"""Incremental UTF-8 decoding of token bytes.

A token may end in the middle of a character (an emoji or a CJK character split over
byte-fallback tokens). Text is released only once its bytes are complete, so nothing
is shown twice or garbled while streaming, and the final text equals decoding all the
bytes at once.
"""

from __future__ import annotations

import codecs


class Utf8Stream:
    def __init__(self) -> None:
        self._decoder = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.text = ""

    def push(self, data: bytes) -> str:
        """Add bytes; return the newly completed text (may be empty)."""
        new = self._decoder.decode(data)
        self.text += new
        return new

    def flush(self) -> str:
        """End of stream: an unfinished character becomes U+FFFD."""
        new = self._decoder.decode(b"", final=True)
        self.text += new
        return new

    @property
    def pending(self) -> int:
        """Bytes held back because their character is not complete yet."""
        return len(self._decoder.getstate()[0])
