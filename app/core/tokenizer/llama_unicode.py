"""llama.cpp's own Unicode tables, for splitting and normalising text exactly as it does.

The tables (resources/tokenizers/llama-unicode.txt) are written from the pinned llama.cpp's
src/unicode-data.cpp by packaging/llama_tokenizer_tables.py. Python's `unicodedata` follows
the interpreter's Unicode version, which may class a recent character differently.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import lru_cache

from app.core import paths

TABLE_FILE = "llama-unicode.txt"

# What llama.cpp writes for a codepoint above 127 before running a regular expression that
# names a Unicode category (unicode.cpp, unicode_regex_split): one stand-in character per
# category, a vertical tab for any whitespace, 0xD0 for the rest.
COLLAPSED = {"N": "\xd1", "L": "\xd2", "P": "\xd3", "M": "\xd4", "S": "\xd5"}
COLLAPSED_OTHER = "\xd0"
COLLAPSED_SPACE = "\x0b"


@dataclass(frozen=True)
class UnicodeTables:
    starts: list[int]  # first codepoint of each run of one category
    categories: list[str]  # N L P M S Z C U
    whitespace: frozenset[int]
    lowercase: dict[int, int]
    nfd_starts: list[int]
    nfd_ranges: list[tuple[int, int, int]]  # first, last, base codepoint

    def category(self, cpt: int) -> str:
        if cpt > 0x10FFFF:
            return "U"
        return self.categories[bisect_right(self.starts, cpt) - 1]

    def is_whitespace(self, cpt: int) -> bool:
        return cpt in self.whitespace

    def to_lower(self, cpt: int) -> int:
        return self.lowercase.get(cpt, cpt)

    def strip_accents(self, cpt: int) -> int:
        """llama.cpp's "NFD": a codepoint with accents becomes its base letter alone."""
        index = bisect_right(self.nfd_starts, cpt) - 1
        if index >= 0:
            first, last, base = self.nfd_ranges[index]
            if first <= cpt <= last:
                return base
        return cpt


@lru_cache(maxsize=1)
def tables() -> UnicodeTables:
    path = paths.resources_dir() / "tokenizers" / TABLE_FILE
    section = ""
    starts: list[int] = []
    categories: list[str] = []
    whitespace: set[int] = set()
    lowercase: dict[int, int] = {}
    nfd: list[tuple[int, int, int]] = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            section = line[1 : line.index("]")]
            continue
        fields = line.split()
        if section == "categories":
            starts.append(int(fields[0], 16))
            categories.append(fields[1])
        elif section == "whitespace":
            whitespace.add(int(fields[0], 16))
        elif section == "lowercase":
            lowercase[int(fields[0], 16)] = int(fields[1], 16)
        elif section == "nfd":
            first, last, base = (int(v, 16) for v in fields)
            nfd.append((first, last, base))
    return UnicodeTables(
        starts, categories, frozenset(whitespace), lowercase, [r[0] for r in nfd], nfd
    )


def collapsed(text: str) -> str:
    """The text as llama.cpp's category-based expressions see it: ASCII as is, anything
    else its category's stand-in (unicode_regex_split's text_collapsed)."""
    table = tables()
    out: list[str] = []
    for char in text:
        cpt = ord(char)
        if cpt < 128:
            out.append(char)
        elif cpt in table.whitespace:
            out.append(COLLAPSED_SPACE)
        else:
            out.append(COLLAPSED.get(table.category(cpt), COLLAPSED_OTHER))
    return "".join(out)


def wide(text: str) -> str:
    """The text as llama.cpp's other expressions see it: whitespace above ASCII becomes a
    vertical tab (std::wregex's \\s knows only ASCII whitespace)."""
    table = tables()
    return "".join(
        COLLAPSED_SPACE if ord(c) > 0x7F and ord(c) in table.whitespace else c for c in text
    )


def is_han(cpt: int) -> bool:
    """unicode.cpp's unicode_cpt_is_han: the CJK ideograph blocks."""
    return (
        0x4E00 <= cpt <= 0x9FFF
        or 0x3400 <= cpt <= 0x4DBF
        or 0x20000 <= cpt <= 0x2A6DF
        or 0x2A700 <= cpt <= 0x2B73F
        or 0x2B740 <= cpt <= 0x2B81F
        or 0x2B820 <= cpt <= 0x2CEAF
        or 0x2CEB0 <= cpt <= 0x2EBEF
        or 0xF900 <= cpt <= 0xFAFF
        or 0x2F800 <= cpt <= 0x2FA1F
    )
