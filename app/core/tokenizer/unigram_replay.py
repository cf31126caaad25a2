"""Unigram (T5-style, SentencePiece's other model) step by step, as llama.cpp's
llm_tokenizer_ugm_session does it.

There are no merges: after normalising (the file's precompiled character map, spaces as ▁,
one ▁ before each word), a Viterbi pass walks the text one character at a time and keeps,
for every position, the best-scoring way to cut the text up to there (the sum of its
tokens' log probabilities; an unknown character costs the lowest score minus 10). The
replay shows that best cut growing: position by position, the winner so far, which may
still change its earlier pieces when a longer token pays off.
"""

from __future__ import annotations

import numpy as np

from app.core.tokenizer.replay_steps import USER_TOKEN, Replay, Step, UnigramStep
from app.core.tokenizer.tokenizer_model import (
    TOKEN_TYPE_NORMAL,
    TOKEN_TYPE_UNUSED,
    TOKEN_TYPE_USER_DEFINED,
    TokenizerModel,
    fragments,
)

SPACE = "▁".encode()
UNKNOWN_PENALTY = np.float32(10.0)


class UnigramTables:
    """What the Viterbi pass needs, built once per model."""

    def __init__(self, model: TokenizerModel) -> None:
        assert model.scores is not None and model.token_types is not None
        types = model.token_types
        self.matcher: dict[bytes, int] = {}
        user: list[bytes] = []
        for token_id, text in enumerate(model.tokens):
            kind = int(types[token_id])
            if kind in (TOKEN_TYPE_NORMAL, TOKEN_TYPE_USER_DEFINED, TOKEN_TYPE_UNUSED):
                self.matcher[text.encode("utf-8")] = token_id  # the last duplicate wins
            if kind == TOKEN_TYPE_USER_DEFINED:
                user.append(text.encode("utf-8"))
        self.user_prefixes = {u[:k] for u in user for k in range(1, len(u) + 1)}
        self.longest = max((len(t) for t in self.matcher), default=1)
        normal = model.scores[types == TOKEN_TYPE_NORMAL]
        min_score = (
            np.float32(normal.min()) if len(normal) else np.float32(np.finfo(np.float32).max)
        )
        self.unknown_score = float(np.float32(min_score - UNKNOWN_PENALTY))
        self.scores = model.scores
        self.user_defined = frozenset(self.matcher[u] for u in user if u in self.matcher)
        self.charsmap = model.charsmap


def unigram_tables(model: TokenizerModel) -> UnigramTables:
    """The model's tables, built on first use and kept with it."""
    tables = model.prepared.get("unigram")
    if not isinstance(tables, UnigramTables):
        tables = model.prepared["unigram"] = UnigramTables(model)
    return tables


def normalize(
    model: TokenizerModel, tables: UnigramTables, text: str, ends: list[int] | None = None
) -> bytes:
    """llm_tokenizer_ugm_session::normalize. `ends`, when given, receives for each output
    byte where in the input (UTF-8 bytes) the text it came from ends; a ▁ put before a word
    ends where the word starts."""
    data = text.encode("utf-8")
    ends = [] if ends is None else ends
    space = SPACE  # llama.cpp escapes whitespace for Unigram vocabularies
    prepend = model.add_space_prefix
    merge = model.remove_extra_whitespaces
    out = bytearray()
    prepended = False
    in_word = False
    offset = 0
    while offset < len(data):
        piece, consumed = _normalize_prefix(tables, data, offset)
        end = offset + consumed
        for byte in piece:
            if byte != 0x20:
                if not in_word:
                    in_word = True
                    if (prepend and not prepended) or merge:
                        out += space
                        ends.extend([offset] * len(space))
                        prepended = True
                out.append(byte)
                ends.append(end)
            else:
                in_word = False
                if not merge:
                    out += space
                    ends.extend([end] * len(space))
        offset = end
    return bytes(out)


def unigram_spans(
    model: TokenizerModel, tables: UnigramTables, text: str
) -> list[tuple[int, int, int]]:
    """llama.cpp's Unigram tokens of `text`, each with the byte span of the input it came
    from: the spans tile the text (what normalisation dropped before a token, such as a
    run of spaces, is shown with it)."""
    spans: list[tuple[int, int, int]] = []
    base = 0
    for part in fragments(model, text):
        if isinstance(part, int):
            size = len(model.tokens[part].encode("utf-8"))
            spans.append((part, base, base + size))
            base += size
            continue
        ends: list[int] = []
        normalized = normalize(model, tables, part, ends)
        previous = base
        if normalized:
            best = viterbi(tables, normalized)
            for token, _start, stop in _merge_unknowns(_path(best, len(normalized))):
                end = base + ends[stop - 1]
                spans.append((model.unknown if token < 0 else token, previous, end))
                previous = end
        base += len(part.encode("utf-8"))
    return spans


def _normalize_prefix(tables: UnigramTables, data: bytes, offset: int) -> tuple[bytes, int]:
    # The user-defined tokens' trie answers with the deepest path it can walk, whether or
    # not a token ends there (naive_trie::get_longest_prefix).
    depth = 0
    while depth < len(data) - offset and data[offset : offset + depth + 1] in tables.user_prefixes:
        depth += 1
    if depth:
        return data[offset : offset + depth], depth
    if tables.charsmap is not None:
        found = tables.charsmap.longest_match(data, offset)
        if found is not None:
            return found
    length = _utf8_length(data[offset])
    return data[offset : offset + length], length


def _utf8_length(first: int) -> int:
    return 1 if first < 0x80 else 2 if first < 0xE0 else 3 if first < 0xF0 else 4


def viterbi(tables: UnigramTables, text: bytes) -> list[tuple[int, int, float]]:
    """For each byte position, the best (token, start, score) ending there ((-1, 0, -inf)
    where no cut ends); position 0 is the empty start."""
    n = len(text)
    best: list[tuple[int, int, float]] = [(-1, 0, -np.inf)] * (n + 1)
    best[0] = (-1, 0, 0.0)
    offset = 0
    scores = tables.scores
    while offset < n:
        char_len = min(_utf8_length(text[offset]), n - offset)
        current = best[offset][2]
        whole_char = False
        for length in range(1, min(tables.longest, n - offset) + 1):
            token = tables.matcher.get(text[offset : offset + length])
            if token is None:
                continue
            if length == char_len:
                whole_char = True
            score = 0.0 if token in tables.user_defined else float(scores[token])
            challenger = current + score
            if challenger > best[offset + length][2]:
                best[offset + length] = (token, offset, challenger)
        if not whole_char:
            challenger = current + tables.unknown_score
            if challenger > best[offset + char_len][2]:
                best[offset + char_len] = (-1, offset, challenger)
        offset += char_len
    return best


def _path(best: list[tuple[int, int, float]], end: int) -> list[tuple[int, int, int]]:
    """The best cut up to `end`: (token or -1 for unknown, start, end), in order."""
    path: list[tuple[int, int, int]] = []
    while end > 0:
        token, start, _score = best[end]
        path.append((token, start, end))
        end = start
    path.reverse()
    return path


def unigram_replay(model: TokenizerModel, tables: UnigramTables, text: str) -> Replay:
    pretokens: list[str] = []
    labels: list[int | None] = []
    steps: list[Step] = []
    tokens: list[int] = []
    pieces: list[str] = []
    for part in fragments(model, text):
        if isinstance(part, int):
            pretokens.append(model.tokens[part])
            labels.append(USER_TOKEN)
            tokens.append(part)
            pieces.append(model.tokens[part])
            continue
        normalized = normalize(model, tables, part)
        if not normalized:
            continue
        index = len(pretokens)
        pretokens.append(normalized.decode("utf-8", "replace"))
        labels.append(None)
        best = viterbi(tables, normalized)
        step_at: dict[int, int] = {}  # byte position -> the step whose cut ends there
        characters = 0
        for end in range(1, len(normalized) + 1):
            if end < len(normalized) and (normalized[end] & 0xC0) == 0x80:
                continue  # not a character boundary
            characters += 1
            token, start, score = best[end]
            last_score = tables.unknown_score if token < 0 else float(tables.scores[token])
            step_at[end] = len(steps)
            steps.append(
                UnigramStep(
                    index,
                    characters,
                    score,
                    _piece(model, normalized, token, start, end),
                    last_score,
                    step_at.get(start, -1),
                    normalized[end:].decode("utf-8", "replace"),
                )
            )
        for token, start, stop in _merge_unknowns(_path(best, len(normalized))):
            tokens.append(model.unknown if token < 0 else token)
            pieces.append(_piece(model, normalized, token, start, stop))
    return Replay(
        "unigram",
        pretokens,
        tuple((w,) for w in pretokens),
        steps,
        tokens,
        pieces,
        pre_tokenizer=describe(model),
        rules=(),
        pretoken_rules=labels,
    )


def _piece(model: TokenizerModel, text: bytes, token: int, start: int, stop: int) -> str:
    return (
        text[start:stop].decode("utf-8", "replace") if token >= 0 else model.tokens[model.unknown]
    )


def _merge_unknowns(path: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Consecutive unknown characters become one unknown token, as llama.cpp emits them."""
    merged: list[tuple[int, int, int]] = []
    for token, start, stop in path:
        if token < 0 and merged and merged[-1][0] < 0:
            merged[-1] = (token, merged[-1][1], stop)
        else:
            merged.append((token, start, stop))
    return merged


def describe(model: TokenizerModel) -> str:
    done = ["the file's character map"] if model.charsmap is not None else []
    done.append("spaces as ▁")
    if model.add_space_prefix:
        done.append(
            "▁ before the text" if not model.remove_extra_whitespaces else "▁ before each word"
        )
    if model.remove_extra_whitespaces:
        done.append("runs of spaces as one")
    return "none (Unigram: the text is normalised — " + ", ".join(done) + " — then cut whole)"
