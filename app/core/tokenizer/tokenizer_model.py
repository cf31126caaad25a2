"""What the replay needs from a GGUF's tokenizer: the vocabulary, its merge order or
scores, its pre-tokenizer and normaliser, read the way llama.cpp reads them
(llama-vocab.cpp, llama_vocab::impl::load)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import numpy.typing as npt

from app.core.errors import ModelFileError
from app.core.gguf.gguf_file import read_gguf
from app.core.tokenizer.pre_tokenizer import PreTokenizer, pre_tokenizer
from app.core.tokenizer.xcda_charsmap import CharsMap

TOKEN_TYPE_NORMAL = 1
TOKEN_TYPE_USER_DEFINED = 4
TOKEN_TYPE_UNUSED = 5
TOKEN_TYPE_BYTE = 6

# tokenizer.ggml.model values llama.cpp runs as BPE with merges.
BPE_MODELS = frozenset({"gpt2", "gemma4", "whitespace"})
# The other vocabulary types, and why they have no step-by-step replay.
NO_REPLAY = {
    "rwkv": "RWKV's tokenizer: a greedy match in a trie of byte strings, not merges",
    "plamo2": "PLaMo-2's tokenizer: a dynamic programme over the whole text, not merges",
    "hybriddna": "a DNA k-mer tokenizer, which cuts fixed-length letter groups, not merges",
}


@dataclass
class TokenizerModel:
    kind: str  # "bpe", "spm" (SentencePiece-style), "wordpiece" or "unigram"
    tokens: list[str]
    token_to_id: dict[str, int]
    model: str = ""  # tokenizer.ggml.model
    pre: PreTokenizer | None = None  # BPE only
    ranks: dict[tuple[str, str], int] = field(default_factory=dict)
    scores: npt.NDArray[np.float32] | None = None
    byte_tokens: dict[int, int] = field(default_factory=dict)  # byte -> <0xXX> token
    add_space_prefix: bool = False
    # User-defined tokens (Gemma's runs of spaces, for instance) are cut out of the text
    # before anything else, longest first, as llama.cpp does even without special parsing.
    user_defined: list[tuple[str, int]] = field(default_factory=list)
    # WordPiece: the unknown token, the longest token in bytes, the normaliser.
    unknown: int = 100
    max_token_bytes: int = 0
    lowercase: bool = True
    strip_accents: bool = True
    # Unigram: each token's type, the character map, whether runs of spaces become one.
    token_types: npt.NDArray[np.int32] | None = None
    charsmap: CharsMap | None = None
    remove_extra_whitespaces: bool = False
    # What a replay builds once per model (Unigram's token table).
    prepared: dict[str, object] = field(default_factory=dict)

    @property
    def pre_name(self) -> str:
        return self.pre.name if self.pre is not None else ""


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


def keep_user_defined(model: TokenizerModel, cut_first: Callable[[int], bool]) -> None:
    """Keep only the user-defined tokens llama.cpp really cuts out of a text first: when it
    loads a vocabulary it turns control-looking ones ("</s>", "<|endoftext|>", fill-in-the-
    middle markers) into control tokens, which plain text never matches. `cut_first(id)`
    answers from llama.cpp's own token attributes."""
    model.user_defined = [(text, token) for text, token in model.user_defined if cut_first(token)]


def load_tokenizer_model(path: Path) -> TokenizerModel:
    """Read the tokenizer of a GGUF (a full model or a vocabulary-only file)."""
    keys = frozenset(
        {
            "tokenizer.ggml.tokens",
            "tokenizer.ggml.scores",
            "tokenizer.ggml.merges",
            "tokenizer.ggml.token_type",
            "tokenizer.ggml.precompiled_charsmap",
        }
    )
    meta = read_gguf(path, require_tensors=False, keep_arrays=keys).metadata
    tokens = meta.get("tokenizer.ggml.tokens")
    if not isinstance(tokens, list) or not tokens:
        raise ModelFileError(f"{path.name}: no vocabulary (tokenizer.ggml.tokens)")
    model_type = str(meta.get("tokenizer.ggml.model", ""))
    # llama.cpp names an empty entry "[EMPTY_<id>]" when it loads a vocabulary.
    tokens = [text or f"[EMPTY_{i}]" for i, text in enumerate(tokens)]
    token_to_id = {text: i for i, text in enumerate(tokens)}  # the last duplicate wins
    types = meta.get("tokenizer.ggml.token_type")
    if isinstance(types, np.ndarray) and len(types) != len(tokens):
        raise ModelFileError(
            f"{path.name}: tokenizer.ggml.token_type has {len(types):,} entries for "
            f"{len(tokens):,} tokens"
        )
    user_defined: list[tuple[str, int]] = []
    if isinstance(types, np.ndarray):
        user_defined = sorted(
            ((tokens[int(i)], int(i)) for i in np.flatnonzero(types == TOKEN_TYPE_USER_DEFINED)),
            key=lambda entry: (-len(entry[0].encode("utf-8")), entry[1]),
        )
    if model_type in NO_REPLAY:
        raise ModelFileError(f"{path.name}: no replay for {NO_REPLAY[model_type]}")
    if model_type in BPE_MODELS:
        return _bpe_model(path, meta, model_type, tokens, token_to_id, user_defined)
    if model_type == "llama":
        return _spm_model(path, meta, tokens, token_to_id, user_defined, types)
    if model_type == "bert":
        return _wordpiece_model(path, meta, tokens, token_to_id, user_defined)
    if model_type == "t5":
        return _unigram_model(path, meta, tokens, token_to_id, user_defined, types)
    raise ModelFileError(
        f"{path.name}: tokenizer type '{model_type}' is not one llama.cpp knows, so there is "
        "nothing to replay"
    )


def _bpe_model(
    path: Path,
    meta: dict[str, object],
    model_type: str,
    tokens: list[str],
    token_to_id: dict[str, int],
    user_defined: list[tuple[str, int]],
) -> TokenizerModel:
    named = meta.get("tokenizer.ggml.pre")
    name = named if isinstance(named, str) else ""
    if model_type == "gemma4":
        name = "gemma4"  # llama.cpp sets it for this tokenizer model whatever the file says
    try:
        pre = pre_tokenizer(name)
    except ModelFileError as error:
        raise ModelFileError(f"{path.name}: {error}") from None
    merges = meta.get("tokenizer.ggml.merges")
    if not isinstance(merges, list):
        raise ModelFileError(f"{path.name}: a BPE vocabulary without merges")
    ranks: dict[tuple[str, str], int] = {}
    for rank, merge in enumerate(merges):
        # llama.cpp cuts at the first space after the first character.
        cut = merge.find(" ", 1)
        if cut > 0:
            ranks.setdefault((merge[:cut], merge[cut + 1 :]), rank)
    lower = False
    if model_type == "whitespace":
        lower = _lowercase(meta, default=not pre.keep_case)
    return TokenizerModel(
        "bpe",
        tokens,
        token_to_id,
        model=model_type,
        pre=pre,
        ranks=ranks,
        user_defined=user_defined,
        lowercase=lower,
    )


def _lowercase(meta: dict[str, object], default: bool) -> bool:
    """Whether the normaliser lowercases: the file's word, else the tokenizer's default."""
    lowercase = meta.get("tokenizer.ggml.normalizer.lowercase")
    return default if lowercase is None else bool(lowercase)


def _scores(
    path: Path, meta: dict[str, object], tokens: list[str], kind: str
) -> npt.NDArray[np.float32]:
    scores = meta.get("tokenizer.ggml.scores")
    if not isinstance(scores, np.ndarray) or len(scores) != len(tokens):
        raise ModelFileError(f"{path.name}: a {kind} vocabulary without scores")
    return scores.astype(np.float32)


def _byte_tokens(tokens: list[str], types: object) -> dict[int, int]:
    """Each byte's <0xXX> token (of byte type, when the file gives types)."""
    found: dict[int, int] = {}
    for i, text in enumerate(tokens):
        if isinstance(types, np.ndarray) and types[i] != TOKEN_TYPE_BYTE:
            continue
        if len(text) == 6 and text.startswith("<0x") and text.endswith(">"):
            try:
                found.setdefault(int(text[3:5], 16), i)
            except ValueError:
                continue
    return found


def _spm_model(
    path: Path,
    meta: dict[str, object],
    tokens: list[str],
    token_to_id: dict[str, int],
    user_defined: list[tuple[str, int]],
    types: object,
) -> TokenizerModel:
    return TokenizerModel(
        "spm",
        tokens,
        token_to_id,
        model="llama",
        scores=_scores(path, meta, tokens, "SentencePiece"),
        byte_tokens=_byte_tokens(tokens, types),
        # llama.cpp prefixes a space unless the GGUF says otherwise.
        add_space_prefix=bool(meta.get("tokenizer.ggml.add_space_prefix", True)),
        user_defined=user_defined,
    )


def _wordpiece_model(
    path: Path,
    meta: dict[str, object],
    tokens: list[str],
    token_to_id: dict[str, int],
    user_defined: list[tuple[str, int]],
) -> TokenizerModel:
    lower = _lowercase(meta, default=True)
    strip = meta.get("tokenizer.ggml.normalizer.strip_accents")
    unknown = _unknown_id(path, meta, tokens, 100)
    return TokenizerModel(
        "wordpiece",
        tokens,
        token_to_id,
        model="bert",
        user_defined=user_defined,
        unknown=unknown,
        max_token_bytes=max(len(t.encode("utf-8")) for t in tokens),
        lowercase=lower,
        strip_accents=lower if strip is None else bool(strip),
    )


def _unigram_model(
    path: Path,
    meta: dict[str, object],
    tokens: list[str],
    token_to_id: dict[str, int],
    user_defined: list[tuple[str, int]],
    types: object,
) -> TokenizerModel:
    scores = _scores(path, meta, tokens, "Unigram")
    if not isinstance(types, np.ndarray) or len(types) != len(tokens):
        types = np.full(len(tokens), TOKEN_TYPE_NORMAL, dtype=np.int32)
    blob = meta.get("tokenizer.ggml.precompiled_charsmap")
    charsmap = None
    if isinstance(blob, np.ndarray) and len(blob):
        try:
            charsmap = CharsMap(blob.astype(np.uint8).tobytes())
        except ModelFileError as error:
            raise ModelFileError(f"{path.name}: {error}") from None
    return TokenizerModel(
        "unigram",
        tokens,
        token_to_id,
        model="t5",
        scores=scores,
        user_defined=user_defined,
        unknown=_unknown_id(path, meta, tokens, 2),
        token_types=types.astype(np.int32),
        charsmap=charsmap,
        add_space_prefix=bool(meta.get("tokenizer.ggml.add_space_prefix", False)),
        remove_extra_whitespaces=bool(meta.get("tokenizer.ggml.remove_extra_whitespaces", False)),
    )


def _unknown_id(path: Path, meta: dict[str, object], tokens: list[str], default: int) -> int:
    """The unknown token (llama.cpp's default for the type unless the file names one)."""
    unknown = meta.get("tokenizer.ggml.unknown_token_id")
    token = unknown if isinstance(unknown, int) else default
    if not 0 <= token < len(tokens):
        raise ModelFileError(
            f"{path.name}: its unknown token ({token}) is not in its vocabulary of "
            f"{len(tokens):,} tokens"
        )
    return token
