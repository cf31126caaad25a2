"""Replaying how a model's own tokenizer builds the tokens of a short text, merge by merge.

The two families llama.cpp implements, followed step for step (llama-vocab.cpp), so the
replay ends in exactly llama.cpp's tokens:

* BPE (Llama 3, GPT-2, Qwen2, …; `tokenizer.ggml.model = gpt2`): the pre-tokenizer's
  regex splits the text into words; each word's bytes are written with GPT-2's printable
  byte alphabet (a space is Ġ); inside a word, the adjacent pair with the best (lowest)
  rank in `tokenizer.ggml.merges` merges first, until no pair is a merge. Vocabularies
  that "ignore merges" (Llama 3) take a word that is itself a token whole.
* SentencePiece style (Gemma, Llama 2; `tokenizer.ggml.model = llama`): spaces become ▁,
  no pre-tokenizer; the adjacent pair whose concatenation is a token with the highest
  score merges first. Characters that are no token fall back to byte tokens (<0xE2>).
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import regex

from app.core.errors import ModelFileError, PromptError
from app.core.gguf.gguf_file import read_gguf

# llama.cpp's pre-tokenizer expressions (llama-vocab.cpp, llama_vocab::impl::load), by
# `tokenizer.ggml.pre`.
_CONTRACTIONS = r"(?:'[sS]|'[tT]|'[rR][eE]|'[vV][eE]|'[mM]|'[lL][lL]|'[dD])"
_LLAMA3 = (
    _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_QWEN2 = (
    _CONTRACTIONS + r"|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
    r"|\s*[\r\n]+|\s+(?!\S)|\s+"
)
_GPT2 = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)"
PRE_TOKENIZERS: dict[str, str] = {
    "llama-bpe": _LLAMA3,
    "llama3": _LLAMA3,
    "smaug-bpe": _LLAMA3,
    "gpt-2": _GPT2,
    "mpt": _GPT2,
    "olmo": _GPT2,
    "qwen2": _QWEN2,
    "stablelm2": _QWEN2,
}
# Pre-tokenizers whose vocabulary takes a word that is a token whole, skipping merges.
IGNORE_MERGES = frozenset({"llama-bpe", "llama3", "smaug-bpe"})

SPM_SPACE = "▁"
TOKEN_TYPE_USER_DEFINED = 4
TOKEN_TYPE_BYTE = 6


@lru_cache(maxsize=1)
def byte_alphabet() -> dict[int, str]:
    """GPT-2's printable stand-in for each byte (a space is Ġ, a newline Ċ)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    mapping = {b: chr(b) for b in printable}
    extra = 0
    for b in range(256):
        if b not in mapping:
            mapping[b] = chr(256 + extra)
            extra += 1
    return mapping


@dataclass(frozen=True)
class MergeStep:
    """One merge: which pre-token, the pair, and every pre-token's pieces after it."""

    pretoken: int
    left: str
    right: str
    pieces: tuple[tuple[str, ...], ...]

    @property
    def flat_pieces(self) -> list[str]:
        return [piece for word in self.pieces for piece in word]


@dataclass(frozen=True)
class Replay:
    kind: str  # "bpe" or "spm"
    pretokens: list[str]  # as the vocabulary writes them (Ġ / ▁ for spaces)
    initial: tuple[tuple[str, ...], ...]  # each pre-token split into characters
    steps: list[MergeStep]
    tokens: list[int]
    token_pieces: list[str] = field(default_factory=list)  # the final tokens' strings


@dataclass
class TokenizerModel:
    """What the replay needs from a GGUF: the vocabulary and its merge order."""

    kind: str
    tokens: list[str]
    token_to_id: dict[str, int]
    pre: str = ""
    ranks: dict[tuple[str, str], int] = field(default_factory=dict)
    scores: npt.NDArray[np.float32] | None = None
    byte_tokens: dict[int, int] = field(default_factory=dict)  # byte -> <0xXX> token
    add_space_prefix: bool = False
    # User-defined tokens (Gemma's runs of spaces, for instance) are cut out of the text
    # before anything else, longest first, as llama.cpp does even without special parsing.
    user_defined: list[tuple[str, int]] = field(default_factory=list)


def load_tokenizer_model(path: Path) -> TokenizerModel:
    """Read the tokenizer of a GGUF (a full model or a vocabulary-only file)."""
    keys = frozenset(
        {
            "tokenizer.ggml.tokens",
            "tokenizer.ggml.scores",
            "tokenizer.ggml.merges",
            "tokenizer.ggml.token_type",
        }
    )
    meta = read_gguf(path, require_tensors=False, keep_arrays=keys).metadata
    tokens = meta.get("tokenizer.ggml.tokens")
    if not isinstance(tokens, list) or not tokens:
        raise ModelFileError(f"{path.name}: no vocabulary (tokenizer.ggml.tokens)")
    model_type = str(meta.get("tokenizer.ggml.model", ""))
    token_to_id = {text: i for i, text in enumerate(tokens)}  # the last duplicate wins
    types = meta.get("tokenizer.ggml.token_type")
    user_defined: list[tuple[str, int]] = []
    if isinstance(types, np.ndarray):
        user_defined = sorted(
            ((tokens[int(i)], int(i)) for i in np.flatnonzero(types == TOKEN_TYPE_USER_DEFINED)),
            key=lambda entry: (-len(entry[0].encode("utf-8")), entry[1]),
        )
    if model_type == "gpt2":
        named = meta.get("tokenizer.ggml.pre")
        if not isinstance(named, str) or not named:
            # llama.cpp then splits with its "default" rules (several expressions, one
            # after another), not GPT-2's: a replay with GPT-2's would differ from it.
            raise ModelFileError(
                f"{path.name}: names no pre-tokenizer, so llama.cpp splits its text with its "
                "default rules, which the replay does not follow yet"
            )
        pre = named
        if pre not in PRE_TOKENIZERS:
            raise ModelFileError(
                f"{path.name}: the replay does not know the '{pre}' pre-tokenizer yet "
                f"(known: {', '.join(sorted(PRE_TOKENIZERS))})"
            )
        merges = meta.get("tokenizer.ggml.merges")
        if not isinstance(merges, list):
            raise ModelFileError(f"{path.name}: a BPE vocabulary without merges")
        ranks: dict[tuple[str, str], int] = {}
        for rank, merge in enumerate(merges):
            left, sep, right = merge.partition(" ")
            if sep:
                ranks.setdefault((left, right), rank)
        return TokenizerModel(
            "bpe", tokens, token_to_id, pre=pre, ranks=ranks, user_defined=user_defined
        )
    if model_type == "llama":
        scores = meta.get("tokenizer.ggml.scores")
        if not isinstance(scores, np.ndarray) or len(scores) != len(tokens):
            raise ModelFileError(f"{path.name}: a SentencePiece vocabulary without scores")
        byte_tokens: dict[int, int] = {}
        if isinstance(types, np.ndarray):
            for i in np.flatnonzero(types == TOKEN_TYPE_BYTE):
                text = tokens[int(i)]
                if text.startswith("<0x") and text.endswith(">"):
                    byte_tokens[int(text[3:-1], 16)] = int(i)
        return TokenizerModel(
            "spm",
            tokens,
            token_to_id,
            scores=scores.astype(np.float32),
            byte_tokens=byte_tokens,
            # llama.cpp prefixes a space unless the GGUF says otherwise.
            add_space_prefix=bool(meta.get("tokenizer.ggml.add_space_prefix", True)),
            user_defined=user_defined,
        )
    raise ModelFileError(
        f"{path.name}: tokenizer type '{model_type}' has no merge replay "
        "(BPE and SentencePiece-style vocabularies do)"
    )


Fragment = str | int  # raw text, or a user-defined token's id


def fragments(model: TokenizerModel, text: str) -> list[Fragment]:
    """The text with the user-defined tokens cut out (leftmost occurrences, longest
    token first), as llama.cpp's tokenizer_st_partition does."""
    parts: list[Fragment] = [text]
    for token_text, token_id in model.user_defined:
        if not any(isinstance(p, str) and token_text in p for p in parts):
            continue
        split: list[Fragment] = []
        for part in parts:
            if not isinstance(part, str) or token_text not in part:
                split.append(part)
                continue
            pieces = part.split(token_text)
            for k, piece in enumerate(pieces):
                if piece:
                    split.append(piece)
                if k < len(pieces) - 1:
                    split.append(token_id)
        parts = split
    return parts


def replay(model: TokenizerModel, text: str) -> Replay:
    if not text:
        raise PromptError("the text is empty")
    words: list[list[str]] = []
    pretokens: list[str] = []
    fixed: list[bool] = []  # a user-defined token: never merged
    previous_special = True
    for part in fragments(model, text):
        if isinstance(part, int):
            pretokens.append(model.tokens[part])
            words.append([model.tokens[part]])
            fixed.append(True)
            previous_special = True
            continue
        for word in _pretokenize(model, part, previous_special):
            pretokens.append(word)
            if model.kind == "bpe" and model.pre in IGNORE_MERGES and word in model.token_to_id:
                words.append([word])
            else:
                words.append(list(word))
            fixed.append(False)
        previous_special = False
    initial = _snapshot(words)
    steps: list[MergeStep] = []
    priority = _bpe_priority(model.ranks) if model.kind == "bpe" else _spm_priority(model)
    for index, symbols in enumerate(words):
        if fixed[index] or len(symbols) < 2:
            continue
        for left, right in _merge(symbols, priority):
            steps.append(MergeStep(index, left, right, _snapshot(words)))
    tokens: list[int] = []
    pieces: list[str] = []
    for symbols in words:
        for symbol in symbols:
            _emit(model, symbol, tokens, pieces)
    return Replay(model.kind, pretokens, initial, steps, tokens, pieces)


def _pretokenize(model: TokenizerModel, text: str, previous_special: bool) -> list[str]:
    if model.kind == "spm":
        if model.add_space_prefix and previous_special:
            text = " " + text
        return [text.replace(" ", SPM_SPACE)]
    # Text no alternative matches stays a word of its own, as in llama.cpp's split.
    words: list[str] = []
    end = 0
    for match in regex.finditer(PRE_TOKENIZERS[model.pre], text):
        if match.start() > end:
            words.append(text[end : match.start()])
        words.append(match.group())
        end = match.end()
    if end < len(text):
        words.append(text[end:])
    alphabet = byte_alphabet()
    return ["".join(alphabet[b] for b in word.encode("utf-8")) for word in words]


def _emit(model: TokenizerModel, symbol: str, tokens: list[int], pieces: list[str]) -> None:
    token = model.token_to_id.get(symbol)
    if token is not None:
        tokens.append(token)
        pieces.append(symbol)
        return
    if model.kind == "spm":
        # Every merge made a token: this is a single character the vocabulary lacks,
        # which falls back to one <0xXX> token per UTF-8 byte.
        for byte in symbol.encode("utf-8"):
            tokens.append(model.byte_tokens[byte])
            pieces.append(f"<0x{byte:02X}>")
        return
    # BPE: llama.cpp looks each byte of the symbol up as a one-byte token; only ASCII
    # bytes can be one.
    for byte in symbol.encode("utf-8"):
        byte_token = model.token_to_id.get(chr(byte)) if byte < 0x80 else None
        if byte_token is not None:
            tokens.append(byte_token)
            pieces.append(chr(byte))


def _snapshot(words: list[list[str]]) -> tuple[tuple[str, ...], ...]:
    return tuple(tuple(w) for w in words)


Priority = Callable[[str, str], float | None]


def _bpe_priority(ranks: dict[tuple[str, str], int]) -> Priority:
    """A pair's merge rank: the lowest merges first."""
    return lambda left, right: ranks.get((left, right))


def _spm_priority(model: TokenizerModel) -> Priority:
    """A pair whose concatenation is a token, by that token's score: the highest first."""
    assert model.scores is not None
    scores, token_to_id = model.scores, model.token_to_id

    def priority(left: str, right: str) -> float | None:
        token = token_to_id.get(left + right)
        return None if token is None else -float(scores[token])

    return priority


def _merge(symbols: list[str], priority: Priority) -> Iterator[tuple[str, str]]:
    """Merge `symbols` in place as llama.cpp's BPE and SentencePiece sessions do, yielding
    each merged pair.

    A heap of (priority, left position) pairs, the leftmost first on a tie. An entry
    whose symbols changed since it was pushed is skipped, as llama.cpp skips outdated
    bigrams (SentencePiece compares the merged length, BPE the merged text: symbols only
    grow, so both say the same).
    """
    alive = list(symbols)
    nxt = [*range(1, len(alive)), -1]
    prv = list(range(-1, len(alive) - 1))
    heap: list[tuple[float, int, int, str]] = []

    def push(left: int, right: int) -> None:
        if left < 0 or right < 0:
            return
        key = priority(alive[left], alive[right])
        if key is not None:
            heapq.heappush(heap, (key, left, right, alive[left] + alive[right]))

    for i in range(len(alive) - 1):
        push(i, i + 1)
    while heap:
        _key, left, right, merged = heapq.heappop(heap)
        if not alive[left] or not alive[right] or alive[left] + alive[right] != merged:
            continue
        pair = (alive[left], alive[right])
        alive[left] = merged
        alive[right] = ""
        nxt[left] = nxt[right]
        if nxt[right] >= 0:
            prv[nxt[right]] = left
        symbols[:] = [s for s in alive if s]
        yield pair
        push(prv[left], left)
        push(left, nxt[left])
