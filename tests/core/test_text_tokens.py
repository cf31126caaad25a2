"""Counts, prices, split characters, pasted ids and file decoding for the Tokenizer tab."""

from __future__ import annotations

import pytest

from app.core.errors import PromptError
from app.core.llama.engine import Engine
from app.core.tokenizer.text_tokens import count, decode_text, parse_ids, split_characters


def test_counts_and_price(engine: Engine) -> None:
    text = "Hello, world"
    infos = engine.vocab.token_infos(text)
    counts = count(text, infos)
    assert counts.added == 1  # BOS
    assert counts.tokens == len(infos) - 1
    assert counts.characters == 12 and counts.bytes == 12
    assert counts.cost(5.0) == pytest.approx(counts.tokens * 5e-6)


def test_split_characters_group_the_bytes_of_one_character(engine: Engine) -> None:
    text = "a 𓀀 é"
    infos = engine.vocab.token_infos(text, add_bos=False)
    groups = split_characters(text, infos)
    assert [g.char for g in groups] == ["𓀀"]
    start, end = groups[0].start, groups[0].end
    assert text.encode("utf-8")[start:end] == "𓀀".encode()
    assert b"".join(infos[k].piece for k in groups[0].tokens) == "𓀀".encode()


def test_pasted_ids_and_files() -> None:
    assert parse_ids("2, 651\n6062 [7]", 262_144) == [2, 651, 6062, 7]
    with pytest.raises(PromptError, match="outside the vocabulary"):
        parse_ids("999999", 1000)
    with pytest.raises(PromptError, match="not a token id"):
        parse_ids("-3", 1000)
    assert decode_text("naïve".encode()) == ("naïve", False)
    assert decode_text(b"caf\xe9") == ("caf\ufffd", True)
    with pytest.raises(PromptError, match="binary"):
        decode_text(b"\x00\x01\x02")
