"""The merge replay ends in exactly llama.cpp's tokens, on real vocabularies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.errors import ModelFileError, PromptError
from app.core.llama.vocabulary import load_vocabulary
from app.core.tokenizer.bpe_replay import replay
from app.core.tokenizer.tokenizer_model import load_tokenizer_model

CORPUS = [
    "unrelated",
    "Byte pair encoding (also known as digram coding) is an algorithm.",
    "def fib(n):\n    return n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "Numbers: 3.14159, 1,000,000 and 2026-11-27; 12345678901234567890",
    "Größenwahn über Straßenbahnhaltestellen, naïve café",
    "大型语言模型会逐个生成词元。",
    "مرحبا بالعالم، كيف حالك؟",
    "Emoji 😀👍🏽 and flags 🇩🇪 👨‍👩‍👧",
    "spaces    and\n\n\nnewlines\t\ttabs  ",
    "  leading and trailing  ",
    "I'm sure they'll say it's OK; we've DONE it",
]


def _check(path: Path) -> None:
    model = load_tokenizer_model(path)
    with load_vocabulary(path) as vocab:
        for text in CORPUS:
            result = replay(model, text)
            assert result.tokens == vocab.tokenize(text, add_bos=False), text
            # Merging never changes the text: every state's pieces spell the pre-tokens.
            text_of_pretokens = "".join(result.pretokens)
            assert "".join(p for word in result.initial for p in word) == text_of_pretokens
            for step in result.steps:
                assert "".join(step.flat_pieces) == text_of_pretokens
            previous = sum(len(w) for w in result.initial)
            for step in result.steps:
                count = len(step.flat_pieces)
                assert count == previous - 1
                assert step.left + step.right in step.pieces[step.pretoken]
                previous = count


def test_replay_matches_llama_cpp_on_gemma(model_path: Path) -> None:
    _check(model_path)


@pytest.mark.parametrize("name", ["llama-bpe", "gpt-2", "qwen2"])
def test_replay_matches_llama_cpp_on_bpe_vocabularies(
    bpe_vocab_paths: dict[str, Path], name: str
) -> None:
    _check(bpe_vocab_paths[name])


def test_course_example_builds_unrelated_from_letters(model_path: Path) -> None:
    result = replay(load_tokenizer_model(model_path), "unrelated")
    assert [p for word in result.initial for p in word] == list("unrelated")
    assert result.steps[-1].flat_pieces == result.token_pieces
    assert "".join(result.token_pieces) == "unrelated"
    assert len(result.steps) == len("unrelated") - len(result.tokens)


def test_llama3_takes_whole_words_that_are_tokens(bpe_vocab_paths: dict[str, Path]) -> None:
    result = replay(load_tokenizer_model(bpe_vocab_paths["llama-bpe"]), " unrelated")
    assert result.pretokens == ["Ġunrelated"] and result.steps == []


def test_bad_inputs(model_path: Path, tmp_path: Path) -> None:
    model = load_tokenizer_model(model_path)
    with pytest.raises(PromptError, match="empty"):
        replay(model, "")
    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"GGUF\x03\x00\x00\x00" + b"\x00" * 16)
    with pytest.raises(ModelFileError):
        load_tokenizer_model(broken)


def test_cli_prints_the_replay(bpe_vocab_paths: dict[str, Path]) -> None:
    path = bpe_vocab_paths["gpt-2"]
    out = subprocess.run(
        [sys.executable, "-m", "app", "bpe", "--model", str(path), "--text", "unrelated", "--json"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    document = json.loads(out)
    assert document["pretokens"] == ["unrelated"]
    assert all(len(step["merge"]) == 2 for step in document["steps"])
    with load_vocabulary(path) as vocab:
        assert document["tokens"] == vocab.tokenize("unrelated", add_bos=False)
    pieces = document["steps"][-1]["pieces"]
    assert "".join(pieces) == "unrelated" and len(pieces) == len(document["tokens"])


@pytest.mark.parametrize("name", ["gemma", "llama-bpe", "gpt-2", "qwen2"])
def test_token_bytes_and_offsets_rebuild_the_text(
    model_path: Path, bpe_vocab_paths: dict[str, Path], name: str
) -> None:
    """What the Tokenizer tab shows: each token's bytes sit at its offsets, and together
    they are the input, byte for byte."""
    path = model_path if name == "gemma" else bpe_vocab_paths[name]
    with load_vocabulary(path) as vocab:
        for text in CORPUS:
            data = text.encode("utf-8")
            infos = vocab.token_infos(text, add_bos=False)
            assert [t.id for t in infos] == vocab.tokenize(text, add_bos=False)
            assert b"".join(t.piece for t in infos) == data
            for info in infos:
                assert data[info.start : info.end] == info.piece


def test_a_gpt2_vocabulary_that_names_no_pre_tokenizer_is_not_replayed_wrong(
    tmp_path: Path,
) -> None:
    """llama.cpp splits such a file (old GPT-NeoX or Aquila conversions) with its default
    rules, not GPT-2's: the replay says so instead of ending in other tokens."""
    from gguf import GGUFWriter

    path = tmp_path / "no-pre.gguf"
    writer = GGUFWriter(str(path), "gptneox")
    writer.add_tokenizer_model("gpt2")
    writer.add_token_list(["a", "b", "ab"])
    writer.add_token_merges(["a b"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelFileError, match=r"names no pre-tokenizer.*default rules"):
        load_tokenizer_model(path)
