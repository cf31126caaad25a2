"""The Tokenizer tab with the real default model's tokenizer."""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from app.core.llama.vocabulary import load_vocabulary
from app.core.tokenizer.replay_steps import Replay
from app.ui.main_window import MainWindow
from app.ui.tabs.tokenizer_view import TokenizerView

Workspace = Callable[[], MainWindow]


def _tokenized(qtbot: QtBot, window: MainWindow, text: str) -> None:
    view = window.tokenizer
    view.result = None
    view.input.setPlainText(text)
    qtbot.waitUntil(lambda: view.result is not None and view.result.text == text, timeout=30_000)
    qtbot.waitUntil(
        lambda: (
            view.result is not None
            and view.ids_view.toPlainText().split() == [str(t.id) for t in view.result.infos]
        ),
        timeout=10_000,
    )


def test_tokens_ids_counts_and_split_characters(
    qtbot: QtBot, workspace: Workspace, model_path: Path
) -> None:
    window = workspace()
    view = window.tokenizer
    window.tabs.setCurrentWidget(view)
    text = "Byte pair encoding 𓀀 naïve"
    _tokenized(qtbot, window, text)
    result = view.result
    assert result is not None
    with load_vocabulary(model_path) as vocab:
        assert [t.id for t in result.infos] == vocab.tokenize(text)
    assert b"".join(t.piece for t in result.infos) == text.encode("utf-8")
    assert view.ids_view.toPlainText().split() == [str(t.id) for t in result.infos]
    assert "(+1 added by the model: BOS)" in view.counts.text()
    assert f"{len(result.infos) - 1} tokens" in view.counts.text()
    # The hieroglyph is no token: its four bytes are four byte-fallback tokens, one group.
    groups = view.chips.split
    assert len(groups) == 1 and groups[0].char == "𓀀" and len(groups[0].tokens) == 4
    assert all(result.infos[k].kind == "byte" for k in groups[0].tokens)
    tip = view.chips.tooltip_for(groups[0].tokens[0])
    assert "F0" in tip and "4 tokens that make up" in tip
    view.vocab_box.setChecked(True)
    assert "<0xF0>" in view.chips.plain_text()
    assert "≈ $" in view.cost.text() and "estimate" in view.cost.text()

    view.ids_view.setPlainText(" ".join(str(t.id) for t in result.infos[1:4]))
    view.decode_button.click()
    qtbot.waitUntil(lambda: view.decoded.text().startswith("Decoded:"), timeout=10_000)
    assert view.decoded.text() == "Decoded: Byte pair encoding"
    view.ids_view.setPlainText("12 abc")
    view.decode_button.click()
    assert "'abc' is not a token id" in view.decoded.text()


def test_merge_replay_steps_to_llamas_tokens(
    qtbot: QtBot, workspace: Workspace, model_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    window = workspace()
    window.resize(1400, 860)
    view = window.tokenizer
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.result is not None, timeout=30_000)
    view.merges.replay_text.setPlainText("unrelated")
    view.merges.replay_button.click()
    qtbot.waitUntil(lambda: view.merges.replay is not None, timeout=30_000)
    replay = view.merges.replay
    assert replay is not None and view.merges.replay_slider.maximum() == len(replay.steps) > 0
    view.merges.forward_button.click()
    view.merges.forward_button.click()
    assert view.merges.replay_position == 2
    assert f"merge 2 of {len(replay.steps)}" in view.merges.replay_state.text()
    view.merges.back_button.click()
    assert view.merges.replay_position == 1
    path = Path(tempfile.gettempdir()) / "llm-playground-tokenizer.png"
    assert window.grab().save(str(path), "PNG")
    with capsys.disabled():
        print(f"\ntokenizer screenshot: {path}")
    view.merges.replay_slider.setValue(len(replay.steps))
    with load_vocabulary(model_path) as vocab:
        assert replay.tokens == vocab.tokenize("unrelated", add_bos=False)
    assert f"tokens: {replay.tokens}" in view.merges.replay_state.text()


def test_files_binary_refused_invalid_utf8_warned(workspace: Workspace, tmp_path: Path) -> None:
    window = workspace()
    view = window.tokenizer
    binary = tmp_path / "image.bin"
    binary.write_bytes(b"\x89PNG\x00\x00\x01")
    view.open_file(binary)
    assert "binary file" in view.warning.text()
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("café".encode("latin-1"))
    view.open_file(latin1)
    assert "not valid UTF-8" in view.warning.text()
    assert view.input.toPlainText() == "caf\ufffd"


def test_compare_tokenizers_marks_where_the_splits_differ(
    qtbot: QtBot, workspace: Workspace, bpe_vocab_paths: dict[str, Path]
) -> None:
    window = workspace()
    view = window.tokenizer
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.result is not None, timeout=30_000)
    other = view.add_compared(str(bpe_vocab_paths["gpt-2"]))
    assert other is not None
    text = "In 1994 the naïve café served 12345 croissants 😀"
    view.input.setPlainText(text)
    qtbot.waitUntil(
        lambda: (
            view.result is not None
            and view.result.text == text
            and other.result is not None
            and other.result.text == text
        ),
        timeout=30_000,
    )
    assert other.result is not None
    assert b"".join(t.piece for t in other.result.infos) == text.encode()
    assert "gpt2 tokenizer" in other.label.text() and "50,257" in other.label.text()
    assert view.chips.differing and other.chips.differing
    # A token whose bytes both tokenizers cut identically is not marked.
    theirs = {(t.start, t.end) for t in other.result.infos}
    for k in view.chips.differing:
        info = view.result.infos[k]
        assert (info.start, info.end) not in theirs
    view.remove_compared(other)
    assert not view.compared and not view.chips.differing


def test_empty_text_and_cancelling_a_long_one(qtbot: QtBot, workspace: Workspace) -> None:
    window = workspace()
    view = window.tokenizer
    _tokenized(qtbot, window, "")
    assert view.result is not None and len(view.result.infos) == 1  # BOS only
    assert "0 tokens" in view.counts.text() and "BOS" in view.counts.text()
    view.result = None
    view.input.blockSignals(True)
    view.input.setPlainText("word " * 200_000)
    view.input.blockSignals(False)
    view.tokenize()
    qtbot.waitUntil(lambda: not view.cancel_button.isHidden(), timeout=30_000)
    view.cancel_button.click()
    qtbot.waitUntil(lambda: "cancelled" in view.warning.text(), timeout=30_000)
    assert view.result is None and view.cancel_button.isHidden()


def test_replay_starts_from_exactly_the_clicked_chip(qtbot: QtBot, workspace: Workspace) -> None:
    window = workspace()
    view = window.tokenizer
    window.tabs.setCurrentWidget(view)
    _tokenized(qtbot, window, "The two events are unrelated to each other")
    result = view.result
    assert result is not None
    index = next(i for i, t in enumerate(result.infos) if t.piece == b" unrelated")
    chip_id = result.infos[index].id
    view.chips.token_clicked.emit(index)
    assert view.merges.replay_text.toPlainText() == " unrelated"  # the leading space kept
    view.merges.replay = None
    view.start_replay()
    qtbot.waitUntil(lambda: view.merges.replay is not None, timeout=30_000)
    assert view.merges.replay is not None and view.merges.replay.tokens == [chip_id]
    assert f"Replaying the chip “␣unrelated” (id {chip_id})" in view.merges.replay_caption.text()

    # Selecting the word without its space replays that text, and says it is not the chip.
    start = view.input.toPlainText().index("unrelated")
    cursor = view.input.textCursor()
    cursor.setPosition(start)
    cursor.setPosition(start + len("unrelated"), cursor.MoveMode.KeepAnchor)
    view.input.setTextCursor(cursor)
    view.merges.replay = None
    view.start_replay()
    qtbot.waitUntil(lambda: view.merges.replay is not None, timeout=30_000)
    caption = view.merges.replay_caption.text()
    assert "without the chip's leading space" in caption and f"id {chip_id}" in caption
    assert view.merges.replay is not None and view.merges.replay.tokens != [chip_id]


def test_whitespace_marks_in_vocabulary_strings_and_compared_panes(
    qtbot: QtBot, workspace: Workspace
) -> None:
    from app.core.tokenizer.reference_tokenizers import REFERENCE_TOKENIZERS
    from app.ui.widgets.token_chips import shown_text

    window = workspace()
    view = window.tokenizer
    window.tabs.setCurrentWidget(view)
    _tokenized(qtbot, window, "a   b\n\tc")
    result = view.result
    assert result is not None
    view.vocab_box.setChecked(True)
    view.whitespace_box.setChecked(True)
    for info in result.infos[1:]:
        assert shown_text(info, vocabulary=True, whitespace=True).strip(), info
    gpt2 = next(t for t in REFERENCE_TOKENIZERS if t.name == "GPT-2")
    assert gpt2.path.is_file()
    other = view.add_compared(str(gpt2.path))
    assert other is not None and other.chips.whitespace and other.chips.vocabulary
    view.whitespace_box.setChecked(False)
    assert not other.chips.whitespace


def _replay_with(
    qtbot: QtBot, window: MainWindow, path: Path, text: str, kind: str
) -> tuple[TokenizerView, Replay]:
    """The Tokenizer tab on `path`'s tokenizer, `text` replayed (a replay of `kind`)."""
    view = window.tokenizer
    window.tabs.setCurrentWidget(view)
    view.set_model(str(path))
    view.merges.replay_text.setPlainText(text)
    view.merges.replay_button.click()
    qtbot.waitUntil(
        lambda: view.merges.replay is not None and view.merges.replay.kind == kind,
        timeout=30_000,
    )
    assert view.merges.replay is not None
    return view, view.merges.replay


def test_replay_names_the_pre_tokenizer_and_shows_its_split_first(
    qtbot: QtBot, workspace: Workspace, vocab_only_paths: dict[str, Path]
) -> None:
    """DeepSeek Coder's five rules: the legend lists them, the start colours each
    pre-token by the rule that cut it, and the merges end in llama.cpp's tokens."""
    path = vocab_only_paths["deepseek-coder"]
    text = "x, y 42\n\tfoo"
    view, replay = _replay_with(qtbot, workspace(), path, text, "bpe")
    legend = view.merges.pre_tokenizer.text()
    assert "deepseek-coder (llama.cpp's DEEPSEEK_CODER rules)" in legend
    assert "applied one after another" in legend and "\\s?\\p{L}+" in legend
    assert view.merges.title.text().startswith("BPE merge replay")
    start = view.merges.replay_state.text()
    assert "the pre-tokenizer's split into" in start
    assert "y&nbsp;</span><sub>2</sub>" in start  # "␣y" made by rule 2, \s?\p{L}+
    with load_vocabulary(path) as vocab:
        assert replay.tokens == vocab.tokenize(text, add_bos=False)


def test_wordpiece_replay_shows_the_pieces_it_tries_and_keeps(
    qtbot: QtBot, workspace: Workspace, vocab_only_paths: dict[str, Path]
) -> None:
    path = vocab_only_paths["bert-bge"]
    view, replay = _replay_with(qtbot, workspace(), path, "Tokenization", "wordpiece")
    assert view.merges.title.text().startswith("WordPiece replay: longest match first")
    assert "lowercased" in view.merges.pre_tokenizer.text()
    view.merges.forward_button.click()
    state = view.merges.replay_state.text()
    assert f"step 1 of {len(replay.steps)}: keeps “▁token”" in state
    assert "after trying “▁tokenization”" in state and "none of those is a token" in state
    view.merges.replay_slider.setValue(len(replay.steps))
    with load_vocabulary(path) as vocab:
        assert replay.tokens == vocab.tokenize("Tokenization", add_bos=False)
    assert replay.token_pieces == ["▁token", "ization"]


def test_a_compared_tokenizer_replays_too(
    qtbot: QtBot, workspace: Workspace, vocab_only_paths: dict[str, Path]
) -> None:
    """The course's domain-model case: compare DeepSeek Coder's tokenizer with the model's,
    then replay the same code with it, without loading its weights."""
    window = workspace()
    view = window.tokenizer
    window.tabs.setCurrentWidget(view)
    qtbot.waitUntil(lambda: view.result is not None, timeout=30_000)
    path = vocab_only_paths["deepseek-coder"]
    other = view.add_compared(str(path))
    assert other is not None
    view.merges.replay_text.setPlainText("def f(x):\n\treturn x")
    other.replay_button.click()
    qtbot.waitUntil(
        lambda: (
            view.merges.replay is not None
            and view.merges.replay.pre_tokenizer.startswith("deepseek-coder")
        ),
        timeout=30_000,
    )
    assert "with ggml-vocab-deepseek-coder's tokenizer" in view.merges.replay_caption.text()
    replay = view.merges.replay
    with load_vocabulary(path) as vocab:
        assert replay.tokens == vocab.tokenize("def f(x):\n\treturn x", add_bos=False)
    view.merges.replay_button.click()  # back to the model's own tokenizer
    qtbot.waitUntil(
        lambda: view.merges.replay is not None and view.merges.replay.kind == "spm",
        timeout=30_000,
    )
    assert "with " not in view.merges.replay_caption.text()
