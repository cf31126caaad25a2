"""The merge replay ends in exactly llama.cpp's tokens, on real vocabularies."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.errors import ModelFileError, PromptError
from app.core.llama.vocabulary import load_vocabulary, replay_model
from app.core.tokenizer.bpe_replay import replay
from app.core.tokenizer.replay_steps import MergeStep
from app.core.tokenizer.tokenizer_model import load_tokenizer_model

CORPUS = [
    "unrelated",
    "class A:\n\tdef f(self):\n\t\treturn {'k': [1, 2]}  # tab-indented\n",
    "\u00a0nbsp\u2003em\u3000ideographic \r\n crlf",
    "Ｆｕｌｌ－ｗｉｄｔｈ ﬁne ① x²",
    # Tokens the file marks user-defined but llama.cpp makes control: not cut out of text.
    "a</s>b <|endoftext|> <｜fim▁begin｜>x<|tool_response>y",
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


# The vocabulary-only GGUFs of the pinned bindings' llama.cpp: the replay does them all.
REPLAYED = [
    "aquila",
    "baichuan",
    "bert-bge",
    "command-r",
    "deepseek-coder",
    "deepseek-llm",
    "falcon",
    "gemma-4",
    "gpt-2",
    "gpt-neox",
    "llama-bpe",
    "llama-spm",
    "mpt",
    "nomic-bert-moe",
    "phi-3",
    "qwen2",
    "qwen35",
    "refact",
    "starcoder",
]


def _llama_cpp_texts(path: Path) -> list[str]:
    """llama.cpp's own test texts for this vocabulary (its .inp file), when it has one."""
    inp = path.with_name(path.name + ".inp")
    if not inp.exists():
        return []
    return [t for t in inp.read_text(encoding="utf-8").split("\n__ggml_vocab_test__\n") if t]


def _check(path: Path, extra: list[str] | None = None) -> None:
    model = replay_model(path)
    with load_vocabulary(path) as vocab:
        for text in CORPUS + (extra or []):
            result = replay(model, text)
            assert result.tokens == vocab.tokenize(text, add_bos=False), text
            # Merging never changes the text: every state's pieces spell the pre-tokens.
            text_of_pretokens = "".join(result.pretokens)
            assert "".join(p for word in result.initial for p in word) == text_of_pretokens
            spelled = result.kind in ("bpe", "spm") or model.unknown not in result.tokens
            previous = sum(len(w) for w in result.initial)
            for position, step in enumerate(result.steps, start=1):
                pieces = result.flat_pieces_at(position)
                # (a WordPiece word with no token at some position becomes [UNK] whole)
                assert not spelled or "".join(pieces) == text_of_pretokens
                if isinstance(step, MergeStep):
                    assert len(pieces) == previous - 1
                    assert step.left + step.right in result.pieces_at(position)[step.pretoken]
                previous = len(pieces)


def test_replay_matches_llama_cpp_on_gemma(model_path: Path) -> None:
    _check(model_path)


def test_every_vocabulary_of_llama_cpp_is_covered(vocab_only_paths: dict[str, Path]) -> None:
    assert sorted(vocab_only_paths) == REPLAYED


@pytest.mark.parametrize("name", REPLAYED)
def test_replay_matches_llama_cpp_on_every_vocabulary(
    vocab_only_paths: dict[str, Path], name: str
) -> None:
    path = vocab_only_paths[name]
    _check(path, _llama_cpp_texts(path))


def test_a_vocabulary_type_without_replay_says_which_and_why(tmp_path: Path) -> None:
    from gguf import GGUFWriter

    path = tmp_path / "rwkv.gguf"
    writer = GGUFWriter(str(path), "rwkv6")
    writer.add_tokenizer_model("rwkv")
    writer.add_token_list(["a", "b"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelFileError, match=r"no replay for RWKV's tokenizer: a greedy match"):
        load_tokenizer_model(path)


def test_course_example_builds_unrelated_from_letters(model_path: Path) -> None:
    result = replay(load_tokenizer_model(model_path), "unrelated")
    assert [p for word in result.initial for p in word] == list("unrelated")
    assert result.flat_pieces_at(len(result.steps)) == result.token_pieces
    assert "".join(result.token_pieces) == "unrelated"
    assert len(result.steps) == len("unrelated") - len(result.tokens)


def test_llama3_takes_whole_words_that_are_tokens(bpe_vocab_paths: dict[str, Path]) -> None:
    result = replay(load_tokenizer_model(bpe_vocab_paths["llama-bpe"]), " unrelated")
    assert result.pretokens == ["Ġunrelated"] and result.steps == []


def test_bad_inputs(model_path: Path, tmp_path: Path) -> None:
    model = load_tokenizer_model(model_path)
    with pytest.raises(PromptError, match="empty"):
        replay(model, "")
    with pytest.raises(PromptError, match=r"up to 2,000 characters.*has 2,001: select a shorter"):
        replay(model, "a" * 2001)
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
    assert document["pre_tokenizer"] == "gpt-2 (llama.cpp's GPT2 rules)"
    assert document["pretoken_rules"] == [0] and len(document["rules"]) == 1


def test_cli_names_each_pre_token_s_rule(vocab_only_paths: dict[str, Path]) -> None:
    path = vocab_only_paths["deepseek-coder"]
    out = subprocess.run(
        [sys.executable, "-m", "app", "bpe", "--model", str(path), "--text", "x, y 42"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert out.startswith("pre-tokenizer: deepseek-coder (llama.cpp's DEEPSEEK_CODER rules)\n")
    assert "  rule 2: '\\\\s?\\\\p{L}+'" in out
    assert "split: x [rule 2] | , [rule 3] | Ġy [rule 2] | Ġ [between matches] | 4 [rule 5]" in out
    bert = subprocess.run(
        [
            sys.executable,
            "-m",
            "app",
            "bpe",
            "--model",
            str(vocab_only_paths["bert-bge"]),
            "--text",
            "Tokenization",
            "--json",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    steps = json.loads(bert)["steps"]
    assert steps[0]["keep"] == "▁token" and steps[0]["tried"][0] == "▁tokenization"


def test_cli_escapes_control_characters_and_reads_files(tmp_path: Path) -> None:
    """Text mode never sends the terminal the text's escape sequences or line breaks."""
    text = tmp_path / "text.txt"
    text.write_text("a\x1b[31mRED\n", encoding="utf-8")
    out = subprocess.run(
        [sys.executable, "-m", "app", "bpe", "--model", "default", "--file", str(text)],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    assert "\x1b" not in out and "a\\x1b[31mRED" in out
    assert all(
        line.startswith(("pre-tokenizer", "split", "start", " ", "tokens"))
        for line in out.splitlines()
    )


def test_cli_refuses_bad_replays_in_one_line() -> None:
    for text, message in (("", "the text is empty"), (b"caf\xff", "--text is not valid UTF-8")):
        done = subprocess.run(
            [sys.executable, "-m", "app", "bpe", "--model", "default", "--text", text],
            capture_output=True,
            text=True,
        )
        assert done.returncode != 0 and message in done.stderr
        assert "Traceback" not in done.stderr


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


def test_a_vocabulary_that_names_no_pre_tokenizer_uses_llama_cpp_s_default(
    vocab_only_paths: dict[str, Path],
) -> None:
    """Old GPT-NeoX or Aquila conversions name none: llama.cpp splits them with its
    default rules (four expressions in a row), and the replay says so."""
    result = replay(load_tokenizer_model(vocab_only_paths["gpt-neox"]), "Hi 12345!")
    assert result.pre_tokenizer.startswith("default (llama.cpp's DEFAULT rules")
    assert len(result.rules) == 4
    # "[0-9][0-9][0-9]" cuts the run of digits \p{N}+ made: 123 | 45.
    assert result.pretokens == ["Hi", "Ġ", "123", "45", "!"]


def test_an_unknown_pre_tokenizer_is_refused_in_words(tmp_path: Path) -> None:
    from gguf import GGUFWriter

    path = tmp_path / "unknown-pre.gguf"
    writer = GGUFWriter(str(path), "llama")
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("no-such-pre")
    writer.add_token_list(["a", "b", "ab"])
    writer.add_token_merges(["a b"])
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(ModelFileError, match=r"no pre-tokenizer named 'no-such-pre'"):
        load_tokenizer_model(path)


def test_wordpiece_tokens_sit_where_their_text_is(vocab_only_paths: dict[str, Path]) -> None:
    """WordPiece lowercases, strips accents and drops spaces, so its tokens' text is not the
    input's: the Tokenizer tab still finds each one where it came from (the unknown token
    covers the word it stands for)."""
    text = "Byte pair encoding, naïve Café e\u0301t 大语 😀 ok"
    data = text.encode("utf-8")
    with load_vocabulary(vocab_only_paths["bert-bge"]) as vocab:
        infos = vocab.token_infos(text, add_bos=True)
    spans = [data[info.start : info.end].decode("utf-8") for info in infos]
    assert spans == [
        "",  # [CLS]
        "Byte",
        " pair",  # the space WordPiece dropped is shown with the word after it
        " encoding",
        ",",
        " naïve",
        " Café",
        " e\u0301t",
        " 大",
        "语",  # [UNK]
        " 😀",  # [UNK]
        " ok",
        "",  # [SEP]
    ]
    assert "".join(spans) == text


def test_unigram_normalises_then_keeps_the_best_cut(vocab_only_paths: dict[str, Path]) -> None:
    """Unigram (nomic-bert-moe, XLM-R's vocabulary): the file's character map folds
    full-width letters, a ▁ starts each word, and each step is the best-scoring cut of the
    text read so far, the last one being llama.cpp's tokens."""
    path = vocab_only_paths["nomic-bert-moe"]
    result = replay(load_tokenizer_model(path), "Ｆｕｌｌ  width")
    assert result.kind == "unigram"
    assert result.pretokens == ["▁Full▁width"]  # folded, two spaces made one
    assert result.pre_tokenizer.startswith("none (Unigram: the text is normalised — the file")
    assert result.flat_pieces_at(len(result.steps)) == result.token_pieces
    assert [step.position for step in result.steps] == list(range(1, len("▁Full▁width") + 1))
    with load_vocabulary(path) as vocab:
        assert result.tokens == vocab.tokenize("Ｆｕｌｌ  width", add_bos=False)


def test_unigram_tokens_sit_where_their_text_is(vocab_only_paths: dict[str, Path]) -> None:
    """Unigram folds full-width letters and ligatures and makes runs of spaces one, so its
    tokens' text is not the input's: the Tokenizer tab still finds each one, the spaces it
    dropped shown with the word after them."""
    text = "Hello  world, Ｆｕｌｌ ﬁne ①"
    data = text.encode("utf-8")
    with load_vocabulary(vocab_only_paths["nomic-bert-moe"]) as vocab:
        infos = vocab.token_infos(text, add_bos=True)
    spans = [data[info.start : info.end].decode("utf-8") for info in infos]
    assert spans == ["", "Hello", "  world", ",", " Ｆｕｌｌ", " ﬁne", " ①", ""]
    assert "".join(spans) == text
