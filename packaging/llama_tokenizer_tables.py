"""Write the tables the merge replay follows from the pinned llama.cpp's own source.

    python packaging/llama_tokenizer_tables.py VENDOR/llama.cpp [--check]

* `resources/tokenizers/llama-pre-tokenizers.json`: every pre-tokenizer name a GGUF may
  carry in `tokenizer.ggml.pre`, the llama.cpp rule set it selects and that set's regular
  expressions in order (src/llama-vocab.cpp, `llama_vocab::impl::load` and
  `llm_tokenizer_bpe`), with the flags that change tokenization (ignore merges, spaces
  written as ▁, raw UTF-8 instead of GPT-2's byte alphabet).
* `resources/tokenizers/llama-unicode.txt`: llama.cpp's Unicode tables (src/unicode-data.cpp):
  each codepoint's category, the whitespace set, the lowercase map and the accent-stripping
  ("NFD") ranges. Python's own tables follow another Unicode version; these are the ones
  llama.cpp splits and normalises with.

`--check` compares instead of writing (exit 1 on a difference): the test suite runs it on
the source distribution of the pinned bindings, so a new llama.cpp cannot drift silently.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PRE_JSON = ROOT / "resources" / "tokenizers" / "llama-pre-tokenizers.json"
UNICODE_TXT = ROOT / "resources" / "tokenizers" / "llama-unicode.txt"

CATEGORY_LETTERS = {
    0x0001: "U",  # undefined
    0x0002: "N",
    0x0004: "L",
    0x0008: "Z",
    0x0010: "M",
    0x0020: "P",
    0x0040: "S",
    0x0080: "C",
}
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", '"': '"', "'": "'", "0": "\0"}


def _literals(line: str) -> list[str]:
    """The C++ string literals on one line, unescaped; a `//` comment ends the line."""
    found: list[str] = []
    i = 0
    while i < len(line):
        if line.startswith("//", i):
            break
        if line[i] != '"':
            i += 1
            continue
        i += 1
        value: list[str] = []
        while line[i] != '"':
            if line[i] == "\\":
                nxt = line[i + 1]
                if nxt == "x":
                    match = re.match(r"[0-9a-fA-F]+", line[i + 2 :])
                    assert match is not None
                    value.append(chr(int(match.group(), 16)))
                    i += 2 + len(match.group())
                    continue
                value.append(_ESCAPES[nxt])
                i += 2
                continue
            value.append(line[i])
            i += 1
        found.append("".join(value))
        i += 1
    return found


def _function_body(source: str, start_marker: str, end_marker: str) -> list[str]:
    start = source.index(start_marker)
    end = source.index(end_marker, start)
    return source[start:end].splitlines()


def rule_sets(vocab_cpp: str) -> dict[str, dict[str, object]]:
    """`llm_tokenizer_bpe`'s switch: each LLAMA_VOCAB_PRE_TYPE_* (and the default) with
    its expressions and whether it writes raw UTF-8."""
    lines = _function_body(
        vocab_cpp,
        "struct llm_tokenizer_bpe : llm_tokenizer {",
        "std::vector<std::string> regex_exprs;",
    )
    sets: dict[str, dict[str, object]] = {}
    labels: list[str] = []
    expressions: list[str] = []
    raw_utf8 = False
    inside = False
    for line in lines:
        stripped = line.strip()
        if case := re.match(r"case LLAMA_VOCAB_PRE_TYPE_(\w+):", stripped):
            labels.append(case.group(1))
        elif stripped == "default:":
            labels.append("DEFAULT")
        elif stripped.startswith("regex_exprs = {"):
            inside = True
        elif inside and stripped.startswith("};"):
            inside = False
        elif inside:
            expressions.extend(_literals(stripped))
        elif stripped.startswith("byte_encode = false"):
            raw_utf8 = True
        elif stripped == "break;":
            for label in labels:
                sets[label] = {"expressions": list(expressions), "raw_utf8": raw_utf8}
            labels, expressions, raw_utf8 = [], [], False
    return sets


def names(vocab_cpp: str) -> dict[str, dict[str, object]]:
    """`llama_vocab::impl::load`: each `tokenizer.ggml.pre` name, its rule set and flags."""
    lines = _function_body(vocab_cpp, "if (tokenizer_pre.empty()) {", "unknown pre-tokenizer type")
    table: dict[str, dict[str, object]] = {}
    pending: list[str] = []
    current: dict[str, object] | None = None
    for line in lines:
        stripped = line.strip()
        if "tokenizer_pre ==" in stripped:
            if current is not None:
                current = None
                pending = []
            pending.extend(re.findall(r'tokenizer_pre == "([^"]+)"', stripped))
        elif rule := re.match(r"pre_type = LLAMA_VOCAB_PRE_TYPE_(\w+);", stripped):
            current = {"rules": rule.group(1), "ignore_merges": False, "escape_spaces": False}
            for name in pending:
                table[name] = current
        elif current is not None and stripped == "ignore_merges = true;":
            current["ignore_merges"] = True
        elif current is not None and stripped == "escape_whitespaces = true;":
            current["escape_spaces"] = True
        elif current is not None and stripped == "normalizer_opts.lowercase = false;":
            current["keep_case"] = True
    return table


def pre_tokenizer_document(vocab_cpp: str, source_name: str) -> dict[str, object]:
    sets = rule_sets(vocab_cpp)
    table = names(vocab_cpp)
    missing = sorted({str(entry["rules"]) for entry in table.values()} - set(sets))
    if missing:
        raise SystemExit(f"no expressions found for {', '.join(missing)}")
    return {
        "source": source_name,
        "names": dict(sorted(table.items())),
        "rule_sets": dict(sorted(sets.items())),
    }


def unicode_document(data_cpp: str, source_name: str) -> str:
    def block(name: str) -> str:
        start = data_cpp.index(name)
        return data_cpp[data_cpp.index("{", start + len(name)) : data_cpp.index("};", start)]

    ranges = re.findall(r"\{0x([0-9A-F]+), 0x([0-9A-F]+)\}", block("unicode_ranges_flags"))
    out = [
        f"# llama.cpp's Unicode tables, from {source_name} (src/unicode-data.cpp).",
        "# Written by packaging/llama_tokenizer_tables.py; do not edit.",
        "[categories]  # first codepoint of a run, its category (N L P M S Z C U)",
    ]
    previous = ""
    for start, flags in ranges:
        letter = CATEGORY_LETTERS.get(int(flags, 16) & 0xFF, "U")
        if letter != previous:
            out.append(f"{start.lstrip('0') or '0'} {letter}")
            previous = letter
    out.append("[whitespace]")
    whitespace = re.findall(r"0x([0-9A-F]+)", block("unicode_set_whitespace"))
    out.extend(w.lstrip("0") or "0" for w in whitespace)
    out.append("[lowercase]  # codepoint, its lowercase")
    for upper, lower in re.findall(
        r"\{0x([0-9A-F]+), 0x([0-9A-F]+)\}", block("unicode_map_lowercase")
    ):
        out.append(f"{upper.lstrip('0') or '0'} {lower.lstrip('0') or '0'}")
    out.append("[nfd]  # first, last, the codepoint without its accents")
    for first, last, base in re.findall(
        r"\{0x([0-9A-F]+), 0x([0-9A-F]+), 0x([0-9A-F]+)\}", block("unicode_ranges_nfd")
    ):
        out.append(" ".join(v.lstrip("0") or "0" for v in (first, last, base)))
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("llama_cpp", type=Path, help="a llama.cpp source tree")
    parser.add_argument("--name", default="llama.cpp", help="how to name the source")
    parser.add_argument("--check", action="store_true", help="compare, do not write")
    args = parser.parse_args(argv)
    src = args.llama_cpp / "src"
    pre = (
        json.dumps(
            pre_tokenizer_document(
                (src / "llama-vocab.cpp").read_text(encoding="utf-8"), args.name
            ),
            ensure_ascii=False,
            indent=1,
        )
        + "\n"
    )
    uni = unicode_document((src / "unicode-data.cpp").read_text(encoding="utf-8"), args.name)
    status = 0
    for path, text in ((PRE_JSON, pre), (UNICODE_TXT, uni)):
        if args.check:
            if path.read_text(encoding="utf-8") != text:
                sys.stderr.write(f"{path.name} differs from {args.llama_cpp}\n")
                status = 1
        else:
            path.write_text(text, encoding="utf-8")
            sys.stdout.write(f"wrote {path} ({len(text.encode()):,} bytes)\n")
    return status


if __name__ == "__main__":
    raise SystemExit(main())
