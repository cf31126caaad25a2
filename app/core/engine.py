"""The inference engine: load a GGUF, tokenize, and drive llama.cpp's decode loop.

The loop is our own (llama_batch + llama_decode + llama_get_logits_ith) rather than
`create_completion`, so every step can be analysed from a zero-copy view of the logits
row while it is valid (until the next decode). Several sequences share one context with
a unified KV cache: the prompt is decoded once and copied to each stream as metadata.
"""

from __future__ import annotations

# llama_runtime imports llama_cpp before numpy is touched (see its docstring).
from app.core.llama_runtime import (  # isort: skip
    BackendInfo,
    backend_info,
    captured_log,
    failure_reason,
    llama,
    physical_cores,
)

import contextlib
import ctypes
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.core.chat_template import template_of
from app.core.default_model import resolve_model
from app.core.errors import ModelFileError, PromptError
from app.core.gguf_file import read_gguf
from app.core.model_card import ModelCard, card_from_gguf
from app.core.tokens import TokenInfo, token_kind

MAX_SEQUENCES = 16
MAX_CACHED_VIEWS = 4 * MAX_SEQUENCES


@dataclass(frozen=True)
class EngineConfig:
    n_ctx: int = 4096
    n_gpu_layers: int | None = None  # None: every layer when the build can offload
    n_threads: int | None = None  # None: physical cores
    n_batch: int = 512
    flash_attn: bool = True  # also makes batched sequences bit-identical to a lone one
    # Analyse a greedy step while the next one decodes (None: when layers run on a GPU,
    # where a decode leaves the CPU idle; on a CPU both would compete for the cores).
    overlap_analysis: bool | None = None


@dataclass(frozen=True)
class LoadedInfo:
    """What was loaded and where it runs (for the status bar and `info`)."""

    card: ModelCard
    n_ctx: int
    n_threads: int
    n_gpu_layers: int
    backend: BackendInfo

    def describe_device(self) -> str:
        if self.n_gpu_layers > 0 and self.backend.gpu_offload:
            layers = self.card.layers or 0
            offload = "all" if self.n_gpu_layers >= layers + 1 else str(self.n_gpu_layers)
            return f"{self.backend.describe()} ({offload} layers offloaded)"
        return f"CPU, {self.n_threads} threads"


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
        for index, token_id in enumerate(ids):
            if progress is not None and index and index % every == 0 and not progress(index):
                break
            piece = self.piece(token_id, special=False)
            start = pos
            if piece and data.startswith(piece, pos):
                pos += len(piece)
            elif piece.startswith(b" ") and data.startswith(piece[1:], pos):
                pos += len(piece) - 1  # the tokenizer's own space prefix
            elif piece:
                # Normalised text (rare): advance by what matches, never past the input.
                match = 0
                while (
                    match < len(piece)
                    and pos + match < len(data)
                    and data[pos + match] == piece[match]
                ):
                    match += 1
                pos += match
            attr = self.attr(token_id)
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


class Engine:
    """A loaded model with one context; not thread-safe: one worker thread owns it."""

    def __init__(self, model_spec: str | Path, config: EngineConfig | None = None) -> None:
        self.config = config or EngineConfig()
        self._lib = llama()
        self._lock = threading.Lock()
        self._model: Any = None
        self._ctx: Any = None
        self._batch: Any = None
        self._batch_capacity = 0
        self._logit_views: dict[int, npt.NDArray[np.float32]] = {}
        self.path = resolve_model(str(model_spec))
        gguf = read_gguf(self.path)
        card = card_from_gguf(gguf)
        self.chat_template = template_of(gguf.metadata)
        backend = backend_info()
        lib = self._lib

        threads = self.config.n_threads or physical_cores()
        gpu_layers = self.config.n_gpu_layers
        if gpu_layers is None:
            gpu_layers = -1 if backend.gpu_offload else 0
        if not backend.gpu_offload:
            gpu_layers = 0
        mparams = lib.llama_model_default_params()
        mparams.n_gpu_layers = gpu_layers if gpu_layers >= 0 else 0x7FFFFFFF
        with captured_log() as lines:
            model = lib.llama_model_load_from_file(str(self.path).encode("utf-8"), mparams)
        if not model:
            raise ModelFileError(
                f"{self.path.name}: llama.cpp could not load it: {failure_reason(lines)}"
            )
        self._model = model
        vocab = lib.llama_model_get_vocab(model)
        self.vocab = Vocabulary(vocab, card)

        train_ctx = int(lib.llama_model_n_ctx_train(model))
        n_ctx = min(self.config.n_ctx, train_ctx) if train_ctx > 0 else self.config.n_ctx
        cparams = lib.llama_context_default_params()
        cparams.n_ctx = n_ctx
        cparams.n_batch = min(self.config.n_batch, n_ctx)
        cparams.n_ubatch = min(self.config.n_batch, n_ctx)
        cparams.n_seq_max = MAX_SEQUENCES
        cparams.n_threads = threads
        cparams.n_threads_batch = threads
        cparams.kv_unified = True
        cparams.swa_full = True  # sequence copies must keep every cell of sliding-window layers
        cparams.no_perf = True
        cparams.flash_attn_type = 1 if self.config.flash_attn else 0
        with captured_log() as lines:
            ctx = lib.llama_init_from_model(model, cparams)
        if not ctx:
            self.close()
            raise ModelFileError(
                f"{self.path.name}: could not create a context: {failure_reason(lines)}"
            )
        self._ctx = ctx
        self._memory = lib.llama_get_memory(ctx)
        self.n_ctx = int(lib.llama_n_ctx(ctx))
        self.n_batch = int(lib.llama_n_batch(ctx))
        self.n_vocab = self.vocab.size
        overlap = self.config.overlap_analysis
        self.overlap_analysis = gpu_layers != 0 if overlap is None else overlap
        self.info = LoadedInfo(
            card=card,
            n_ctx=self.n_ctx,
            n_threads=threads,
            n_gpu_layers=(card.layers or 0) + 1 if gpu_layers < 0 else gpu_layers,
            backend=backend,
        )

    # ---- lifetime ---------------------------------------------------------------------
    def close(self) -> None:
        lib = self._lib
        self._logit_views.clear()
        if self._batch is not None:
            lib.llama_batch_free(self._batch)
            self._batch = None
        if self._ctx:
            lib.llama_free(self._ctx)
            self._ctx = None
        if self._model:
            lib.llama_model_free(self._model)
            self._model = None

    def __enter__(self) -> Engine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()

    # ---- low-level decoding ---------------------------------------------------------
    def _ensure_batch(self, n: int) -> Any:
        if n > self._batch_capacity:
            if self._batch is not None:
                self._lib.llama_batch_free(self._batch)
            capacity = max(n, self.n_batch)
            self._batch = self._lib.llama_batch_init(capacity, 0, MAX_SEQUENCES)
            self._batch_capacity = capacity
        return self._batch

    def clear(self) -> None:
        """Forget every sequence's cache."""
        self._lib.llama_memory_clear(self._memory, True)

    def decode(self, entries: Sequence[tuple[int, int, int, bool]]) -> None:
        """Decode (token, position, sequence, wants_logits) entries in one batch."""
        batch = self._ensure_batch(len(entries))
        for i, (token, pos, seq, logits) in enumerate(entries):
            batch.token[i] = token
            batch.pos[i] = pos
            batch.n_seq_id[i] = 1
            batch.seq_id[i][0] = seq
            batch.logits[i] = logits
        batch.n_tokens = len(entries)
        rc = self._lib.llama_decode(self._ctx, batch)
        if rc != 0:
            raise RuntimeError(f"llama_decode failed with code {rc}")

    def prefill(self, ids: Sequence[int], seq: int = 0, start: int = 0) -> None:
        """Decode a prompt into `seq` in chunks; logits are kept for the last token only."""
        if not ids:
            raise PromptError("the prompt is empty")
        if start + len(ids) > self.n_ctx:
            raise PromptError(
                f"the prompt has {start + len(ids)} tokens but the context holds {self.n_ctx}"
            )
        for chunk_start in range(0, len(ids), self.n_batch):
            chunk = ids[chunk_start : chunk_start + self.n_batch]
            last = chunk_start + len(chunk) == len(ids)
            self.decode(
                [
                    (tok, start + chunk_start + j, seq, last and j == len(chunk) - 1)
                    for j, tok in enumerate(chunk)
                ]
            )

    def logits(self, batch_index: int = -1) -> npt.NDArray[np.float32]:
        """Zero-copy view of one output row; valid until the next decode."""
        ptr = self._lib.llama_get_logits_ith(self._ctx, batch_index)
        address = ctypes.cast(ptr, ctypes.c_void_p).value
        if not address:
            raise RuntimeError(f"llama.cpp has no logits for batch row {batch_index}")
        # Making a view costs ~60 us (np.ctypeslib builds a ctypes array type); rows start
        # at the same few addresses every step, so keep their views.
        view = self._logit_views.get(address)
        if view is None:
            if len(self._logit_views) >= MAX_CACHED_VIEWS:
                self._logit_views.clear()
            view = np.ctypeslib.as_array(ptr, shape=(self.n_vocab,))
            self._logit_views[address] = view
        return view

    def copy_sequence(self, src: int, dst: int) -> None:
        self._lib.llama_memory_seq_rm(self._memory, dst, -1, -1)
        self._lib.llama_memory_seq_cp(self._memory, src, dst, -1, -1)

    def remove_sequence(self, seq: int, start: int = -1) -> None:
        self._lib.llama_memory_seq_rm(self._memory, seq, start, -1)

    def tokenize_prompt(self, prompt: str, *, add_bos: bool = True) -> list[int]:
        if not prompt:
            raise PromptError("the prompt is empty")
        ids = self.vocab.tokenize(prompt, add_bos=add_bos)
        if not ids:
            raise PromptError("the prompt is empty")
        if len(ids) >= self.n_ctx:
            raise PromptError(
                f"the prompt has {len(ids)} tokens but the context holds {self.n_ctx}; "
                "shorten it or raise the context size"
            )
        return ids

    @property
    def model_ptr(self) -> Any:
        return self._model

    @property
    def context_ptr(self) -> Any:
        return self._ctx


class VocabularyFile:
    """Only a GGUF's tokenizer, loaded (fast; works on vocabulary-only files too)."""

    def __init__(self, path: Path) -> None:
        gguf = read_gguf(path, require_tensors=False)
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
def load_vocabulary(path: Path) -> Iterator[Vocabulary]:
    """Load only a GGUF's tokenizer for the duration of a `with` block."""
    loaded = VocabularyFile(path)
    try:
        yield loaded.vocab
    finally:
        loaded.close()
