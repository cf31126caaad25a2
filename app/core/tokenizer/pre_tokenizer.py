"""llama.cpp's pre-tokenizers: how a BPE vocabulary's text is cut into words before any
merge, for every `tokenizer.ggml.pre` this llama.cpp knows.

The rules are llama.cpp's own (resources/tokenizers/llama-pre-tokenizers.json, written from
src/llama-vocab.cpp). They are applied as unicode.cpp's unicode_regex_split applies them:
one expression after another, each cutting every piece the previous ones left (text
between two matches stays a piece of its own); an expression naming a Unicode category
runs over the "collapsed" text where each non-ASCII character stands for its category, so
classes such as `[^a-z]` treat every non-ASCII letter alike, as in llama.cpp; a few rules
are code (custom_splits).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from app.core import paths
from app.core.errors import ModelFileError
from app.core.tokenizer.custom_splits import CUSTOM_RULES
from app.core.tokenizer.llama_unicode import collapsed, wide

RULES_FILE = "llama-pre-tokenizers.json"
DEFAULT = "default"  # what llama.cpp uses when a BPE vocabulary names no pre-tokenizer

# unicode_regex_split's category names and what each becomes in a collapsed expression:
# the category's stand-in character, then its ASCII members.
_CATEGORY_OF = {
    "\\p{N}": "N",
    "\\p{L}": "L",
    "\\p{P}": "P",
    "\\p{M}": "M",
    "\\p{S}": "S",
    "\\p{Lu}": "L",
    "\\p{Ll}": "L",
    "\\p{Lt}": "L",
    "\\p{Lm}": "L",
    "\\p{Lo}": "L",
}
_COLLAPSED_CLASS = {
    "N": "\xd10-9",
    "L": "\xd2A-Za-z",
    "P": "\xd3!-#%-*,-/:-;?-@\\[-\\]_\\{\\}",
    "M": "\xd4",
    "S": "\xd5\\$\\+<->^`\\|\\~",
}


@dataclass(frozen=True)
class Piece:
    """One pre-token: its text and which rule cut it (None: the text between matches)."""

    text: str
    rule: int | None


@dataclass(frozen=True)
class PreTokenizer:
    name: str  # as the GGUF names it ("default" when it names none)
    rule_set: str  # llama.cpp's LLAMA_VOCAB_PRE_TYPE_* without the prefix
    expressions: tuple[str, ...]
    ignore_merges: bool = False  # a word that is itself a token is taken whole
    escape_spaces: bool = False  # spaces written as ▁ before splitting
    raw_utf8: bool = False  # pieces stay UTF-8 text instead of GPT-2's byte alphabet
    keep_case: bool = False  # only for the "whitespace" tokenizer model: no lowercasing


@lru_cache(maxsize=1)
def rules_document() -> dict[str, object]:
    """The rule table as written from llama.cpp's source: names, rule sets, source."""
    path = paths.resources_dir() / "tokenizers" / RULES_FILE
    document = json.loads(path.read_text(encoding="utf-8"))
    assert isinstance(document, dict)
    return document


def known_names() -> list[str]:
    names = rules_document()["names"]
    assert isinstance(names, dict)
    return sorted(names)


def pre_tokenizer(name: str) -> PreTokenizer:
    """The pre-tokenizer a GGUF's `tokenizer.ggml.pre` names ("" or "default": llama.cpp's
    default rules); ModelFileError for a name this llama.cpp does not know."""
    document = rules_document()
    names, sets = document["names"], document["rule_sets"]
    assert isinstance(names, dict) and isinstance(sets, dict)
    entry: dict[str, object] = {"rules": "DEFAULT"}
    if name and name != DEFAULT:
        if name not in names:
            raise ModelFileError(
                f"llama.cpp knows no pre-tokenizer named '{name}' ({len(names)} are known), "
                "so it cannot load this vocabulary and there is nothing to replay"
            )
        entry = names[name]
    rule_set = str(entry["rules"])
    rules = sets[rule_set]
    for expression in rules["expressions"]:
        _check_expression(name or DEFAULT, expression)
    return PreTokenizer(
        name=name or DEFAULT,
        rule_set=rule_set,
        expressions=tuple(rules["expressions"]),
        ignore_merges=bool(entry.get("ignore_merges", False)),
        escape_spaces=bool(entry.get("escape_spaces", False)),
        raw_utf8=bool(rules["raw_utf8"]),
        keep_case=bool(entry.get("keep_case", False)),
    )


def _uses_categories(expression: str) -> bool:
    return any(name in expression for name in _CATEGORY_OF)


def _check_expression(name: str, expression: str) -> None:
    if expression in CUSTOM_RULES:
        return
    if _uses_categories(expression) and any(ord(c) >= 128 for c in expression):
        # llama.cpp refuses such an expression when it tokenizes (unicode_regex_split).
        raise ModelFileError(
            f"the '{name}' pre-tokenizer has an expression mixing Unicode categories and "
            "non-ASCII characters, which llama.cpp cannot run either"
        )


def _collapse_expression(expression: str) -> str:
    """unicode_regex_split's rewrite of an expression for the collapsed text, character
    for character (including how it tracks being inside brackets)."""
    out: list[str] = []
    inside = False
    i = 0
    while i < len(expression):
        char = expression[i]
        if char == "[" and (i == 0 or expression[i - 1] != "\\"):
            out.append("[")
            inside = True
            i += 1
            continue
        if inside and char == "]" and expression[i - 1] != "\\":
            out.append("]")
            inside = False
            i += 1
            continue
        if expression.startswith("\\p{", i) and i + 3 < len(expression):
            closing = expression.find("}", i + 3)
            if closing != -1 and closing <= i + 10:
                category = _CATEGORY_OF.get(expression[i : closing + 1])
                if category is not None:
                    members = _COLLAPSED_CLASS[category]
                    out.append(members if inside else f"[{members}]")
                    i = closing + 1
                    continue
        out.append(char)
        i += 1
    return "".join(out)


def _ecmascript_to_python(expression: str) -> str:
    """The few places ECMAScript and Python read an expression differently: `$` (outside
    brackets) is the end of the text only, never before a final newline."""
    out: list[str] = []
    inside = False
    escaped = False
    for char in expression:
        if escaped:
            out.append(char)
            escaped = False
            continue
        if char == "\\":
            escaped = True
        elif char == "[":
            inside = True
        elif char == "]":
            inside = False
        elif char == "$" and not inside:
            out.append("\\Z")
            continue
        out.append(char)
    return "".join(out)


Cutter = Callable[[str], list[tuple[int, bool]]]


@lru_cache(maxsize=256)
def _cutter(expression: str) -> tuple[Cutter, str]:
    """How one expression cuts a piece: the length of each match and of the text between
    matches, each with whether it is a match; and which view of the text it reads
    ("text", "collapsed" or "wide")."""
    custom = CUSTOM_RULES.get(expression)
    if custom is not None:
        rule = custom
        # Code rules cut everything they are given: every cut is theirs.
        return (lambda piece: [(n, True) for n in rule([ord(c) for c in piece])]), "text"
    uses_categories = _uses_categories(expression)
    source = _collapse_expression(expression) if uses_categories else expression
    # ASCII: \s and \d mean what they mean to std::regex in the C locale.
    compiled = re.compile(_ecmascript_to_python(source), re.ASCII)

    def cut(piece: str) -> list[tuple[int, bool]]:
        parts: list[tuple[int, bool]] = []
        end = 0
        for match in compiled.finditer(piece):
            if match.start() > end:
                parts.append((match.start() - end, False))
            parts.append((match.end() - match.start(), True))
            end = match.end()
        if end < len(piece):
            parts.append((len(piece) - end, False))
        return parts

    return cut, "collapsed" if uses_categories else "wide"


def split(pre: PreTokenizer, text: str) -> list[Piece]:
    """The pre-tokens of `text` (spaces already written as ▁ where the vocabulary asks),
    each with the index of the expression whose match it is."""
    if not text:
        return []
    views: dict[str, str] = {"text": text}
    # (start, length, rule) of each piece so far, in codepoints.
    pieces: list[tuple[int, int, int | None]] = [(0, len(text), None)]
    for index, expression in enumerate(pre.expressions):
        cut, view_name = _cutter(expression)
        if view_name not in views:  # written once, and only when an expression reads it
            views[view_name] = collapsed(text) if view_name == "collapsed" else wide(text)
        view = views[view_name]
        cut_pieces: list[tuple[int, int, int | None]] = []
        for start, length, rule in pieces:
            offset = start
            for n, is_match in cut(view[start : start + length]):
                if n > 0:  # an empty match cuts, but makes no piece
                    cut_pieces.append((offset, n, index if is_match else rule))
                offset += n
        pieces = cut_pieces
    return [Piece(text[start : start + length], rule) for start, length, rule in pieces]
