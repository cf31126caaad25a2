"""Every pre-tokenizer llama.cpp knows splits text in the replay exactly as in llama.cpp.

Real vocabularies exist only for some of them, so for every rule set (DeepSeek, Falcon,
GPT-4o, Tekken, Kimi K2, …) the test writes a vocabulary in which every short stretch of
the corpus is a token reachable by merges: llama.cpp then ends each short pre-token in a
single token, so its tokens show where it cut, and a replay that cut anywhere else ends
in other tokens.
"""

from __future__ import annotations

import importlib.metadata
import subprocess
import sys
from pathlib import Path

import pytest
from gguf import GGUFWriter

from app.core.llama.vocabulary import load_vocabulary
from app.core.tokenizer.bpe_replay import byte_alphabet, replay
from app.core.tokenizer.pre_tokenizer import known_names, pre_tokenizer, rules_document, split
from app.core.tokenizer.tokenizer_model import load_tokenizer_model

LONGEST = 7  # the longest corpus stretch made a token

CORPUS = [
    "Hello World, I'm HAPPY: it's DONE'll",
    "def f(x):\n\treturn x  # ok\r\n  \n",
    "1234567 and 89, 3.14159 ٣٤٥",
    "CamelCaseWord XMLHttpRequest éÉüÜ",
    "naïve café e\u0301 Ωμέγα",
    "中文字符和日本語のかなカナ 한국어",
    "مرحبا، كيف؟ שלום",
    "😀👍🏽 🇩🇪!! ... $+<=>^~|`",
    "a\u00a0b\u2003c\u3000d \u0085e",
    "<sentinel:12>IMGIMGABZ",
    "   x\n\n\ny    ",
]


def _names_by_rule_set() -> dict[str, str]:
    """One `tokenizer.ggml.pre` name for each of llama.cpp's rule sets."""
    document = rules_document()
    names = document["names"]
    assert isinstance(names, dict)
    chosen: dict[str, str] = {"DEFAULT": ""}
    for name in sorted(names):
        chosen.setdefault(str(names[name]["rules"]), name)
    return chosen


RULE_SETS = _names_by_rule_set()


def _write_vocab(path: Path, pre: str, model: str = "gpt2") -> None:
    """A vocabulary of every byte (or character) and every corpus stretch of 2 to
    LONGEST symbols, with a merge for each way to cut each stretch in two."""
    rules = pre_tokenizer(pre if model != "gemma4" else "gemma4")
    alphabet = byte_alphabet()
    texts = [t.replace(" ", "▁") if rules.escape_spaces else t for t in CORPUS]
    if rules.raw_utf8:
        symbols = sorted({c for t in texts for c in t} | {"\n"})
        encoded = texts
        base = [f"<0x{b:02X}>" for b in range(256)] + symbols
    else:
        base = [alphabet[b] for b in range(256)]
        encoded = ["".join(alphabet[b] for b in t.encode("utf-8")) for t in texts]
    stretches: set[str] = set()
    for text in encoded:
        for i in range(len(text)):
            for n in range(2, LONGEST + 1):
                if i + n <= len(text):
                    stretches.add(text[i : i + n])
    ordered = sorted(stretches, key=lambda s: (len(s), s))
    tokens = list(dict.fromkeys(base + ordered))
    merges: list[str] = []
    seen: set[tuple[str, str]] = set()
    for stretch in ordered:
        for k in range(1, len(stretch)):
            pair = (stretch[:k], stretch[k:])
            if " " in pair[0] or pair in seen:
                continue  # llama.cpp cuts a merge at its first space
            seen.add(pair)
            merges.append(f"{pair[0]} {pair[1]}")
    writer = GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model(model)
    if pre:
        writer.add_tokenizer_pre(pre)
    writer.add_token_list(tokens)
    writer.add_token_types([1] * len(tokens))
    writer.add_token_merges(merges)
    if model == "gemma4":
        writer.add_bos_token_id(0)  # llama.cpp asks Gemma 4 vocabularies for one
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def _assert_same_tokens(path: Path) -> None:
    model = load_tokenizer_model(path)
    with load_vocabulary(path) as vocab:
        for text in CORPUS:
            expected = vocab.tokenize(text, add_bos=False)
            assert replay(model, text).tokens == expected, (model.pre_name, text)


@pytest.mark.parametrize("rule_set", sorted(RULE_SETS))
def test_every_rule_set_splits_as_llama_cpp(rule_set: str, tmp_path: Path) -> None:
    path = tmp_path / f"{rule_set}.gguf"
    # The whitespace rules come with their own tokenizer model (it drops whitespace and
    # lowercases first); under "gpt2" llama.cpp would abort on a word with two spaces.
    model = "whitespace" if rule_set == "WHITESPACE" else "gpt2"
    _write_vocab(path, RULE_SETS[rule_set], model=model)
    _assert_same_tokens(path)


def test_gemma4_tokenizer_model(tmp_path: Path) -> None:
    """Gemma 4's tokenizer model: raw UTF-8, spaces as ▁, runs of newlines whole."""
    path = tmp_path / "gemma4.gguf"
    _write_vocab(path, "", model="gemma4")
    _assert_same_tokens(path)


def test_all_names_llama_cpp_knows_are_known() -> None:
    assert len(RULE_SETS) == 57
    assert {"deepseek-coder", "deepseek-llm", "falcon", "starcoder", "gpt-4o", "tekken"} <= set(
        known_names()
    )
    assert pre_tokenizer("llama4").rule_set == "GPT4O"


def test_each_pre_token_names_the_expression_that_cut_it() -> None:
    # DeepSeek Coder: [\r\n], \s?\p{L}+, \s?\p{P}+, CJK runs, \p{N} (one digit each).
    pieces = split(pre_tokenizer("deepseek-coder"), "x, y 42\nfoo!")
    assert [(p.text, p.rule) for p in pieces] == [
        ("x", 1),
        (",", 2),
        (" y", 1),
        (" ", None),  # between matches: no expression took it
        ("4", 4),
        ("2", 4),
        ("\n", 0),
        ("foo", 1),
        ("!", 2),
    ]


def test_tables_are_the_pinned_llama_cpp_s(llama_cpp_source: Path) -> None:
    """The shipped rule and Unicode tables are what the generator writes from the
    pinned bindings' own source: a new llama.cpp cannot drift from them silently."""
    version = importlib.metadata.version("llama-cpp-python")
    result = subprocess.run(
        [
            sys.executable,
            "packaging/llama_tokenizer_tables.py",
            str(llama_cpp_source),
            "--name",
            f"llama-cpp-python {version}",
            "--check",
        ],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert result.returncode == 0, result.stderr
