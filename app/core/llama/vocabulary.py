"""A model's tokenizer: tokenize and detokenize byte-exactly, token facts, offsets.

`Vocabulary` wraps llama.cpp's vocabulary of a loaded model; `VocabularyFile` loads only
the tokenizer of a GGUF (fast; vocabulary-only files work too).
"""

from __future__ import annotations

# llama_runtime imports llama_cpp before numpy is touched (see its docstring).
from app.core.llama.llama_runtime import captured_log, failure_reason, llama  # isort: skip

import contextlib
import ctypes
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from app.core.errors import ModelFileError, PromptError
from app.core.gguf.gguf_file import read_gguf
from app.core.gguf.model_card import ModelCard, card_from_gguf
from app.core.llama.load_probe import ensure_loadable
from app.core.tokenizer.tokenizer_model import (
    TokenizerModel,
    keep_user_defined,
    load_tokenizer_model,
)
from app.core.tokenizer.tokens import ATTR_CONTROL, ATTR_UNKNOWN, TokenInfo, piece_end, token_kind
from app.core.tokenizer.unigram_replay import unigram_spans, unigram_tables
from app.core.tokenizer.wordpiece_align import WordPieceAligner

# The longest text whose Unigram tokens are placed by the replay's own pass (pure Python,
# ~20 ms a thousand characters); longer ones use the plain byte walk.
UNIGRAM_ALIGN_BYTES = 60_000


class Vocabulary:
    """Tokenization and token facts for a loaded (or vocabulary-only) model."""

    def __init__(self, vocab: Any, card: ModelCard) -> None:
        self._lib = llama()
        self._vocab = vocab
        self.card = card
        self.size = int(self._lib.llama_vocab_n_tokens(vocab))
        self.bos = int(self._lib.llama_vocab_bos(vocab))
        self.eos = int(self._lib.llama_vocab_eos(vocab))
        self.adds_bos = bool(self._lib.llama_vocab_get_add_bos(vocab))
        self._ends = {self.bos, self.eos, int(self._lib.llama_vocab_sep(vocab))}
        kind = int(self._lib.llama_vocab_type(vocab))
        self.is_unigram = kind == int(self._lib.LLAMA_VOCAB_TYPE_UGM)
        self._tokenizer_model: TokenizerModel | None = None
        self.is_wordpiece = kind == int(self._lib.LLAMA_VOCAB_TYPE_WPM)
        self._piece_buf = ctypes.create_string_buffer(256)
        self._pieces: dict[tuple[int, bool], bytes] = {}
        self._texts: dict[int, str] = {}
        self._attrs: dict[int, int] = {}

    def tokenize(
        self, text: str | bytes, *, add_bos: bool = True, special: bool = False
    ) -> list[int]:
        """Token ids of `text`; BOS is added when the model asks for it and `add_bos`."""
        data = text.encode("utf-8") if isinstance(text, str) else text
        capacity = len(data) + 8
        while True:
            out = (self._lib.llama_token * capacity)()
            n = self._lib.llama_tokenize(
                self._vocab, data, len(data), out, capacity, add_bos, special
            )
            if n >= 0:
                # Converted in slices: one C-level conversion of a long text's ids would
                # hold the GIL long enough to freeze the window (tens of ms).
                ids = np.frombuffer(out, dtype=np.int32, count=n)
                result: list[int] = []
                for k in range(0, n, 32_768):
                    result.extend(ids[k : k + 32_768].tolist())
                return result
            capacity = -n

    def piece(self, token_id: int, *, special: bool = True) -> bytes:
        """The token's bytes in text (control tokens render as e.g. b"<eos>" when `special`)."""
        key = (token_id, special)
        cached = self._pieces.get(key)
        if cached is not None:
            return cached
        buf = self._piece_buf
        n = self._lib.llama_token_to_piece(self._vocab, token_id, buf, len(buf), 0, special)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._lib.llama_token_to_piece(self._vocab, token_id, buf, len(buf), 0, special)
        piece = bytes(buf.raw[:n])
        self._pieces[key] = piece
        return piece

    def piece_text(self, token_id: int) -> str:
        """The token's text (control tokens as e.g. "<bos>"), safe to ask from any thread:
        its own buffer, no cache (piece() shares both with the engine thread)."""
        buf = ctypes.create_string_buffer(256)
        n = self._lib.llama_token_to_piece(self._vocab, token_id, buf, len(buf), 0, True)
        if n < 0:
            buf = ctypes.create_string_buffer(-n)
            n = self._lib.llama_token_to_piece(self._vocab, token_id, buf, len(buf), 0, True)
        return bytes(buf.raw[:n]).decode("utf-8", "backslashreplace")

    def detokenize(self, ids: Sequence[int], *, special: bool = False) -> bytes:
        return b"".join(self.piece(i, special=special) for i in ids)

    def text_of(self, token_id: int) -> str:
        """The vocabulary entry as stored in the GGUF (with ▁ / Ġ markers)."""
        text = self._texts.get(token_id)
        if text is None:
            raw = self._lib.llama_vocab_get_text(self._vocab, token_id)
            text = self._texts[token_id] = (raw or b"").decode("utf-8", "replace")
        return text

    def attr(self, token_id: int) -> int:
        value = self._attrs.get(token_id)
        if value is None:
            value = self._attrs[token_id] = int(
                self._lib.llama_vocab_get_attr(self._vocab, token_id)
            )
        return value

    def is_eog(self, token_id: int) -> bool:
        return bool(self._lib.llama_vocab_is_eog(self._vocab, token_id))

    def is_control(self, token_id: int) -> bool:
        return bool(self._lib.llama_vocab_is_control(self._vocab, token_id))

    def check_id(self, token_id: int) -> None:
        if not 0 <= token_id < self.size:
            raise PromptError(f"token id {token_id} is outside the vocabulary (0..{self.size - 1})")

    def token_infos(self, text: str | bytes, *, add_bos: bool = True) -> list[TokenInfo]:
        """Every token of `text` with its bytes, vocabulary string, type and byte offsets.

        Offsets index the UTF-8 input; a token that is not in the text (BOS, a space the
        tokenizer prefixes) has start == end or covers only the bytes it shares.
        """
        data = text.encode("utf-8") if isinstance(text, str) else text
        return self.infos_of(data, self.tokenize(data, add_bos=add_bos))

    def infos_of(
        self,
        data: bytes,
        ids: Sequence[int],
        progress: Callable[[int], bool] | None = None,
        every: int = 20_000,
    ) -> list[TokenInfo]:
        """`token_infos` for ids already tokenized from `data`. `progress(done)` is called
        every `every` tokens; returning False stops early (what was built is returned)."""
        infos: list[TokenInfo] = []
        pos = 0
        aligner = WordPieceAligner(data) if self.is_wordpiece else None
        spans = iter(self._unigram_spans(data, ids))
        for index, token_id in enumerate(ids):
            if progress is not None and index and index % every == 0 and not progress(index):
                break
            piece = self.piece(token_id, special=False)
            attr = self.attr(token_id)
            # WordPiece's only control token inside the text is its unknown token (BERT
            # files often type it as control), standing for a whole word.
            unknown = bool(attr & (ATTR_UNKNOWN | ATTR_CONTROL)) and token_id not in self._ends
            if aligner is not None and (piece or unknown):
                start, pos = aligner.span(piece, unknown=unknown)
            elif token_id not in self._ends and (span := next(spans, None)) is not None:
                start, pos = span
            else:
                start = pos
                pos = piece_end(data, pos, piece)
            infos.append(
                TokenInfo(
                    id=token_id,
                    piece=data[start:pos] if piece else b"",
                    vocab_text=self.text_of(token_id),
                    kind=token_kind(attr),
                    start=start,
                    end=pos,
                )
            )
        return infos

    def tokenizer_model(self) -> TokenizerModel:
        """The replay's reading of this vocabulary's GGUF, read once (see replay_model)."""
        if self._tokenizer_model is None:
            self._tokenizer_model = replay_model(Path(self.card.file), self)
        return self._tokenizer_model

    def _unigram_spans(self, data: bytes, ids: Sequence[int]) -> list[tuple[int, int]]:
        """Unigram normalises (a character map, runs of spaces as one), so its pieces are
        not the input's bytes: the replay's Unigram pass gives each token's span when it
        ends in the same tokens. Empty for other vocabularies and long texts."""
        if not self.is_unigram or len(data) > UNIGRAM_ALIGN_BYTES or not self.card.file:
            return []
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return []
        model = self.tokenizer_model()
        spans = unigram_spans(model, unigram_tables(model), text)
        if [token for token, _start, _end in spans] != [i for i in ids if i not in self._ends]:
            return []
        return [(start, end) for _token, start, end in spans]


class VocabularyFile:
    """Only a GGUF's tokenizer, loaded (fast; works on vocabulary-only files too)."""

    def __init__(self, path: Path, *, probe: bool = True) -> None:
        gguf = read_gguf(path, require_tensors=False)
        if probe:
            ensure_loadable(path)
        self.path = path
        self._lib = llama()
        params = self._lib.llama_model_default_params()
        params.vocab_only = True
        with captured_log() as lines:
            model = self._lib.llama_model_load_from_file(str(path).encode("utf-8"), params)
        if not model:
            raise ModelFileError(
                f"{path.name}: llama.cpp could not load its vocabulary: {failure_reason(lines)}"
            )
        self._model: Any = model
        self.vocab = Vocabulary(self._lib.llama_model_get_vocab(model), card_from_gguf(gguf))

    def close(self) -> None:
        if self._model:
            self._lib.llama_model_free(self._model)
            self._model = None

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()


@contextlib.contextmanager
def load_vocabulary(path: Path, *, probe: bool = True) -> Iterator[Vocabulary]:
    """Load only a GGUF's tokenizer for the duration of a `with` block (`probe`: first
    in a child process, see load_probe.py)."""
    loaded = VocabularyFile(path, probe=probe)
    try:
        yield loaded.vocab
    finally:
        loaded.close()


def replay_model(path: Path, vocab: Vocabulary | None = None) -> TokenizerModel:
    """The replay's reading of a GGUF's tokenizer, with llama.cpp's own say on which
    user-defined tokens it cuts out first (`vocab`: the file's vocabulary, if loaded)."""
    model = load_tokenizer_model(path)
    if not model.user_defined:
        return model
    with contextlib.ExitStack() as stack:
        if vocab is None:
            vocab = stack.enter_context(load_vocabulary(path))
        loaded = vocab
        keep_user_defined(
            model, lambda token: not loaded.attr(token) & (ATTR_CONTROL | ATTR_UNKNOWN)
        )
    return model
