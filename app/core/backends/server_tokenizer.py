"""A llama-server's tokenizer, for the Tokenizer tab: `/tokenize` with pieces and
`/detokenize`, answering as a local vocabulary does (ids, TokenInfos with byte offsets).

The server renders a token it adds (BOS) as text, so it is told apart by tokenizing the
text without special tokens too: what that lacks at the front is not in the text.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from app.core.backends.server_client import ServerClient
from app.core.errors import PlaygroundError
from app.core.tokenizer.tokens import TokenInfo, piece_end


@dataclass(frozen=True)
class ServerCard:
    name: str
    tokenizer_model: str  # what the Tokenizer tab shows as the tokenizer's kind


class ServerTokenizer:
    """Stands where a VocabularyFile stands; `vocab` is itself."""

    def __init__(self, url: str, api_key: str | None) -> None:
        self.client = ServerClient(url, api_key)
        props = self.client.props()
        self.size = self.client.vocab_size()
        model = props.model_path.rsplit("/", 1)[-1] or "the server's model"
        self.card = ServerCard(f"{model} (llama-server at {self.client.url})", "on the server")
        # The last tokenization's pieces and how many tokens the server added in front.
        self._last: tuple[bytes, int, list[tuple[int, bytes]]] = (b"", 0, [])

    @property
    def vocab(self) -> ServerTokenizer:
        return self

    def close(self) -> None:
        """Nothing to free."""

    def check_id(self, token_id: int) -> None:
        if not 0 <= token_id < self.size:
            raise PlaygroundError(f"{token_id} is not a token id (0 to {self.size - 1:,})")

    def tokenize(self, data: bytes, *, add_bos: bool = True) -> list[int]:
        text = data.decode("utf-8")
        plain = self.client.tokenize(text, add_special=False, parse_special=False)
        tokens = (
            self.client.tokenize(text, add_special=True, parse_special=False) if add_bos else plain
        )
        added = len(tokens) - len(plain)
        if added < 0 or [i for i, _p in tokens[added:]] != [i for i, _p in plain]:
            added = 0
        for token_id, _piece in tokens:
            self.check_id(token_id)
        self._last = (data, added, tokens)
        return [token_id for token_id, _piece in tokens]

    def infos_of(
        self,
        data: bytes,
        ids: Sequence[int],
        progress: Callable[[int], bool] | None = None,
        every: int = 20_000,
    ) -> list[TokenInfo]:
        last, added, tokens = self._last
        if last != data or [i for i, _p in tokens] != list(ids):
            added, tokens = 0, [(i, self.client.detokenize([i]).encode("utf-8")) for i in ids]
        infos: list[TokenInfo] = []
        pos = 0
        for index, (token_id, piece) in enumerate(tokens):
            if progress is not None and index and index % every == 0 and not progress(index):
                break
            start = pos
            if index >= added:
                pos = piece_end(data, pos, piece)
            text = piece.decode("utf-8", "replace")
            infos.append(
                TokenInfo(
                    id=token_id,
                    piece=data[start:pos],
                    vocab_text=text,
                    kind="control" if index < added else "normal",
                    start=start,
                    end=pos,
                )
            )
        return infos

    def detokenize(self, ids: Sequence[int], *, special: bool = True) -> bytes:
        return self.client.detokenize(list(ids)).encode("utf-8")
