"""The Tokenizer tab's own thread: vocabularies loaded vocabulary-only, tokenizing, the
merge replay. It never touches the generation engine, so it works while a model runs.

Long texts report progress and can be cancelled between chunks of the token list (the
text itself is tokenized in one llama.cpp call, so chunking never changes the tokens).
"""

from __future__ import annotations

import gc
from dataclasses import dataclass, field

from PySide6.QtCore import Signal, Slot

from app.core.errors import PlaygroundError
from app.core.tokenizer.text_tokens import SplitCharacter, TextCounts, count, split_characters
from app.core.tokenizer.tokens import TokenInfo
from app.workers.worker_thread import Attempt, Worker, WorkerThread

PROGRESS_EVERY = 20_000  # tokens between progress reports


@dataclass(frozen=True)
class TokenizeRequest:
    request_id: int
    path: str  # a GGUF path ("default" resolves to the bundled model)
    text: str
    add_bos: bool = True


@dataclass(frozen=True)
class TokenizedText:
    path: str
    name: str  # the model's name
    vocab_size: int
    tokenizer: str  # tokenizer.ggml.model (llama = SentencePiece-style, gpt2 = BPE)
    text: str
    infos: list[TokenInfo]
    seconds: float  # llama.cpp's tokenize call alone
    split: list[SplitCharacter] = field(default_factory=list)
    counts: TextCounts | None = None
    ids_text: str = ""  # the ids as the IDs view shows them (built here, not in the UI)


class TokenizerWorker(Worker):
    sig_tokenized = Signal(int, object)
    """(request id, TokenizedText)."""
    sig_progress = Signal(int, int, int)
    """(request id, tokens done, tokens in all)."""
    sig_decoded = Signal(int, str)
    """(request id, text) for ids decoded back to text."""
    sig_replay = Signal(int, object)
    """(request id, app.core.tokenizer.bpe_replay.Replay)."""
    sig_failed = Signal(int, str)

    _sig_tokenize = Signal(object)
    _sig_decode = Signal(int, str, object)
    _sig_replay = Signal(int, str, str)
    _sig_server = Signal(str, object)

    def __init__(self) -> None:
        super().__init__()
        self._vocabs: dict[str, object] = {}
        self._sig_tokenize.connect(self._tokenize)
        self._sig_decode.connect(self._decode)
        self._sig_replay.connect(self._replay)
        self._sig_server.connect(self._server)
        self._keys: dict[str, str | None] = {}

    # Called from the UI thread.
    def tokenize(self, request: TokenizeRequest) -> None:
        self.cancel.clear()
        self._sig_tokenize.emit(request)

    def decode(self, request_id: int, path: str, ids: list[int]) -> None:
        self._sig_decode.emit(request_id, path, ids)

    def replay(self, request_id: int, path: str, text: str) -> None:
        self._sig_replay.emit(request_id, path, text)

    def use_server(self, url: str, api_key: str | None) -> None:
        """Tokenize on the llama-server at `url` when a request's path is that URL."""
        self._sig_server.emit(url, api_key)

    @Slot(str, object)
    def _server(self, url: str, api_key: str | None) -> None:
        self._keys[url] = api_key
        self._vocabs.pop(url, None)

    def _vocabulary(self, spec: str) -> object:
        from app.core.library.default_model import resolve_model
        from app.core.llama.vocabulary import VocabularyFile

        loaded = self._vocabs.get(spec)
        if loaded is None:
            if is_server(spec):
                from app.core.backends.server_tokenizer import ServerTokenizer

                loaded = ServerTokenizer(spec, self._keys.get(spec))
            else:
                loaded = VocabularyFile(resolve_model(spec))
            self._vocabs[spec] = loaded
        return loaded

    @Slot(object)
    def _tokenize(self, request: TokenizeRequest) -> None:
        import time

        rid = request.request_id
        with Attempt("tokenizing", lambda message, _e: self.sig_failed.emit(rid, message)):
            loaded = self._vocabulary(request.path)
            vocab = loaded.vocab  # type: ignore[attr-defined]
            data = request.text.encode("utf-8")
            start = time.perf_counter()
            ids = vocab.tokenize(data, add_bos=request.add_bos)
            seconds = time.perf_counter() - start

            def progress(done: int) -> bool:
                self.sig_progress.emit(rid, done, len(ids))
                return not self.cancel.is_set()

            # No collection while a quarter of a million tuples are made: a full pass
            # holds the GIL and would freeze the window meanwhile. (They hold no cycles;
            # the collector untracks them in its next young pass.)
            gc.disable()
            try:
                infos = vocab.infos_of(data, ids, progress, PROGRESS_EVERY)
            finally:
                gc.enable()
            if self.cancel.is_set():
                self.sig_failed.emit(rid, "cancelled")
                return
            card = vocab.card
            self.sig_tokenized.emit(
                rid,
                TokenizedText(
                    request.path,
                    card.name,
                    vocab.size,
                    card.tokenizer_model,
                    request.text,
                    infos,
                    seconds,
                    split=split_characters(request.text, infos),
                    counts=count(request.text, infos),
                    ids_text=ids_text(ids),
                ),
            )

    @Slot(int, str, object)
    def _decode(self, request_id: int, path: str, ids: list[int]) -> None:
        with Attempt("decoding ids", lambda message, _e: self.sig_failed.emit(request_id, message)):
            vocab = self._vocabulary(path).vocab  # type: ignore[attr-defined]
            for token_id in ids:
                vocab.check_id(token_id)
            text = vocab.detokenize(ids, special=True).decode("utf-8", "replace")
            self.sig_decoded.emit(request_id, text)

    @Slot(int, str, str)
    def _replay(self, request_id: int, path: str, text: str) -> None:
        from app.core.tokenizer.bpe_replay import replay

        with Attempt("the replay", lambda message, _e: self.sig_failed.emit(request_id, message)):
            if is_server(path):
                raise PlaygroundError(
                    "the merge replay reads the model's merges from its GGUF, and the model "
                    "runs on a server: open the same GGUF on this computer to replay"
                )
            # The vocabulary keeps its tokenizer model: the token view's Unigram spans use
            # the same one.
            model = self._vocabulary(path).vocab.tokenizer_model()  # type: ignore[attr-defined]
            self.sig_replay.emit(request_id, replay(model, text))

    def shutdown(self) -> None:
        for loaded in self._vocabs.values():
            loaded.close()  # type: ignore[attr-defined]
        self._vocabs.clear()


class TokenizerThread(WorkerThread[TokenizerWorker]):
    def __init__(self) -> None:
        super().__init__(TokenizerWorker(), "tokenizer")


IDS_PER_LINE = 16


def is_server(spec: str) -> bool:
    """Whether a tokenizer's path names a server (its URL) rather than a GGUF."""
    return spec.startswith(("http://", "https://"))


def ids_text(ids: list[int]) -> str:
    """The ids, 16 to a line: one long line would make the text view lay out a megabyte
    at once."""
    return "\n".join(
        " ".join(map(str, ids[k : k + IDS_PER_LINE])) for k in range(0, len(ids), IDS_PER_LINE)
    )
