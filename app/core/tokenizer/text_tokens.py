"""A tokenized text as the Tokenizer tab shows it: counts, an illustrative price, and the
characters whose bytes several tokens share (emoji, CJK, accented letters)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from app.core.errors import PromptError
from app.core.tokenizer.tokens import TokenInfo


@dataclass(frozen=True)
class PricePreset:
    name: str
    input_per_million: float  # US dollars per million tokens
    output_per_million: float


# The course's examples. Another provider's tokenizer splits differently, so a count from
# this model's tokenizer only estimates what that provider would charge.
PRICE_PRESETS = (
    PricePreset("GPT-4o", 5.0, 15.0),
    PricePreset("Gemini 1.5 Pro", 7.0, 21.0),
)


@dataclass(frozen=True)
class TextCounts:
    tokens: int  # tokens of the text itself (BOS not counted)
    characters: int
    bytes: int
    added: int  # tokens the model adds that are not in the text (BOS)

    @property
    def characters_per_token(self) -> float:
        return self.characters / self.tokens if self.tokens else 0.0

    @property
    def bytes_per_token(self) -> float:
        return self.bytes / self.tokens if self.tokens else 0.0

    def cost(self, per_million: float) -> float:
        return self.tokens * per_million / 1_000_000


def count(text: str, infos: Sequence[TokenInfo]) -> TextCounts:
    added = sum(1 for t in infos if t.start == t.end and not t.piece)
    return TextCounts(
        tokens=len(infos) - added,
        characters=len(text),
        bytes=len(text.encode("utf-8")),
        added=added,
    )


@dataclass(frozen=True)
class SplitCharacter:
    """A character whose bytes are spread over several tokens."""

    char: str
    start: int  # byte offsets of the character in the text
    end: int
    tokens: tuple[int, ...]  # positions in the token list


def split_characters(text: str, infos: Sequence[TokenInfo]) -> list[SplitCharacter]:
    """Every character whose UTF-8 bytes belong to more than one token."""
    starts = [t.start for t in infos]
    ends = [t.end for t in infos]
    result: list[SplitCharacter] = []
    offset = 0
    token = 0
    for char in text:
        size = len(char.encode("utf-8"))
        char_end = offset + size
        if size > 1:
            while token < len(infos) and ends[token] <= offset:
                token += 1
            covering = []
            k = token
            while k < len(infos) and starts[k] < char_end:
                if ends[k] > offset:
                    covering.append(k)
                k += 1
            if len(covering) > 1:
                result.append(SplitCharacter(char, offset, char_end, tuple(covering)))
        offset = char_end
    return result


_ID_SEPARATORS = re.compile(r"[\s,;\[\]]+")


def parse_ids(text: str, vocab_size: int) -> list[int]:
    """Token ids pasted as text ("2, 651, 6062" or one per line)."""
    ids: list[int] = []
    for item in _ID_SEPARATORS.split(text.strip()):
        if not item:
            continue
        if not item.isdigit():
            raise PromptError(f"'{item}' is not a token id (ids are whole numbers)")
        value = int(item)
        if value >= vocab_size:
            raise PromptError(f"token id {value} is outside the vocabulary (0..{vocab_size - 1})")
        ids.append(value)
    return ids


def decode_text(data: bytes) -> tuple[str, bool]:
    """Text from a file's bytes: (text, whether invalid UTF-8 was replaced). A binary file
    (NUL bytes) is refused."""
    if b"\x00" in data[:65536]:
        raise PromptError("this looks like a binary file, not text")
    try:
        return data.decode("utf-8"), False
    except UnicodeDecodeError:
        return data.decode("utf-8", "replace"), True


def differing_tokens(infos: Sequence[TokenInfo], others: Sequence[Sequence[TokenInfo]]) -> set[int]:
    """Positions of the tokens whose byte span is not a token of every other tokenization
    of the same text: where the splits differ."""
    spans = [{(t.start, t.end) for t in other if t.end > t.start} for other in others]
    return {
        k
        for k, t in enumerate(infos)
        if t.end > t.start and any((t.start, t.end) not in s for s in spans)
    }
