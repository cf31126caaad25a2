"""The pre-tokenizer rules llama.cpp implements as code rather than as a regular
expression (unicode.cpp, unicode_regex_split_custom_*), followed statement for statement:
their results differ from what the expressions they stand for would give (AFMoE's digit
rule joins the text before a number to its first group, for instance).

Each takes one segment's codepoints and returns the lengths it is cut into.
"""

from __future__ import annotations

from collections.abc import Callable

from app.core.tokenizer.llama_unicode import is_han, tables

OUT_OF_RANGE = -1


class _Cutter:
    """The position bookkeeping every custom rule shares (_get_cpt, _get_flags,
    _add_token)."""

    def __init__(self, cpts: list[int]) -> None:
        self.cpts = cpts
        self.end = len(cpts)
        self.prev_end = 0
        self.lengths: list[int] = []
        self._table = tables()

    def cpt(self, pos: int) -> int:
        return self.cpts[pos] if 0 <= pos < self.end else OUT_OF_RANGE

    def category(self, pos: int) -> str:
        """The codepoint's category; "" beyond the segment (no flags at all)."""
        return self._table.category(self.cpts[pos]) if 0 <= pos < self.end else ""

    def is_space(self, pos: int) -> bool:
        return 0 <= pos < self.end and self._table.is_whitespace(self.cpts[pos])

    def lower(self, pos: int) -> int:
        return self._table.to_lower(self.cpt(pos))

    def add(self, end: int) -> int:
        length = end - self.prev_end
        if length > 0:
            self.lengths.append(length)
        self.prev_end = end
        return length


def afmoe_digits(cpts: list[int]) -> list[int]:
    """unicode_regex_split_custom_afmoe: a run of digits is cut into a leading group of
    (length mod 3) and groups of three; the text before the run joins its first group."""
    cut = _Cutter(cpts)
    pos = 0
    while pos < cut.end:
        if cut.category(pos) == "N":
            digit_start = pos
            count = 0
            while cut.category(pos) == "N" and pos < cut.end:
                count += 1
                pos += 1
            remainder = count % 3
            current = digit_start
            if remainder > 0:
                cut.add(current + remainder)
                current += remainder
            while current < digit_start + count:
                cut.add(current + 3)
                current += 3
            continue
        pos += 1
    if cut.prev_end < cut.end:
        cut.add(cut.end)
    return cut.lengths


def _contraction_end(cut: _Cutter, pos: int) -> int:
    """Past an optional 's 't 're 've 'm 'll 'd (any case) at `pos`."""
    if cut.cpt(pos) == ord("'") and pos + 1 < cut.end:
        nxt = cut.lower(pos + 1)
        if nxt in (ord("s"), ord("t"), ord("m"), ord("d")):
            return pos + 2
        if pos + 2 < cut.end:
            pair = (nxt, cut.lower(pos + 2))
            if pair in ((ord("r"), ord("e")), (ord("v"), ord("e")), (ord("l"), ord("l"))):
                return pos + 3
    return pos


def kimi_k2(cpts: list[int]) -> list[int]:
    """unicode_regex_split_custom_kimi_k2: Han runs, letter words without Han (with an
    optional leading mark and a trailing contraction), digits in threes, punctuation runs,
    then whitespace as Llama 3 splits it."""
    cut = _Cutter(cpts)

    def letter(pos: int) -> bool:
        return cut.category(pos) == "L" and not is_han(cut.cpt(pos))

    pos = 0
    while pos < cut.end:
        cpt = cut.cpt(pos)
        category = cut.category(pos)
        if is_han(cpt):
            while is_han(cut.cpt(pos)):
                pos += 1
            cut.add(pos)
            continue
        leading_ok = cpt not in (ord("\r"), ord("\n")) and category not in ("L", "N")
        if (category == "L" and not is_han(cpt)) or (leading_ok and letter(pos + 1)):
            has_leading = False
            if leading_ok:
                has_leading = True
                pos += 1
            has_letters = False
            while letter(pos):
                has_letters = True
                pos += 1
            if has_letters or (not has_leading and letter(pos)):
                if not has_letters:
                    pos += 1
                while letter(pos):
                    pos += 1
                pos = _contraction_end(cut, pos)
                cut.add(pos)
                continue
            if has_leading:
                pos -= 1
        if category == "N":
            start = pos
            while cut.category(pos) == "N":
                pos += 1
                if pos - start >= 3:
                    cut.add(pos)
                    start = pos
            cut.add(pos)
            continue
        if _punctuation_run(cut, pos, cpt, category):
            pos = cut.prev_end
            continue
        pos = _whitespace_run(cut, pos)
    return cut.lengths


def _punctuation_run(cut: _Cutter, pos: int, cpt: int, category: str) -> bool:
    """?[^\\s\\p{L}\\p{N}]+[\\r\\n]* — cuts and returns True when it matches at `pos`."""

    def other(at: int) -> bool:
        return not cut.is_space(at) and cut.category(at) not in ("L", "N", "")

    if not other(pos + 1 if cpt == ord(" ") else pos):
        return False
    pos += cpt == ord(" ")
    while other(pos):
        pos += 1
    while cut.cpt(pos) in (ord("\r"), ord("\n")):
        pos += 1
    cut.add(pos)
    return True


def _whitespace_run(cut: _Cutter, pos: int) -> int:
    """\\s*[\\r\\n]+ | \\s+(?!\\S) | \\s+ | one character; returns the new position."""
    count = 0
    last_newline_end = 0
    while cut.is_space(pos + count):
        if cut.cpt(pos + count) in (ord("\r"), ord("\n")):
            last_newline_end = pos + count + 1
        count += 1
    if last_newline_end > 0:
        pos = last_newline_end
    elif count > 1 and cut.cpt(pos + count) != OUT_OF_RANGE:
        pos += count - 1
    elif count > 0:
        pos += count
    else:
        pos += 1
    cut.add(pos)
    return pos


# The expressions llama.cpp answers with code, and the code (unicode_regex_split_custom).
# The GPT-2, Llama 3 and Qwen2 rules are also code there, written to give exactly what
# their expressions give, so the replay runs those expressions.
CUSTOM_RULES: dict[str, Callable[[list[int]], list[int]]] = {
    "\\p{Han}+": kimi_k2,
    "\\p{AFMoE_digits}": afmoe_digits,
    "\\d{1,3}(?=(?:\\d{3})*\\b)": afmoe_digits,
}
