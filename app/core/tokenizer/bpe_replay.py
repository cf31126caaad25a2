"""Replaying how a model's own tokenizer builds the tokens of a short text, step by step.

The families llama.cpp implements, followed step for step (llama-vocab.cpp), so the
replay ends in exactly llama.cpp's tokens:

* BPE (Llama 3, GPT-2, Qwen2, DeepSeek, …; `tokenizer.ggml.model = gpt2`): the
  pre-tokenizer the file names cuts the text into words (pre_tokenizer: one or several
  expressions, or rules written as code); each word's bytes are written with GPT-2's
  printable byte alphabet (a space is Ġ), or kept as UTF-8 with spaces as ▁ (Gemma 4);
  inside a word, the adjacent pair with the best (lowest) rank in `tokenizer.ggml.merges`
  merges first, until no pair is a merge. Vocabularies that "ignore merges" (Llama 3) take
  a word that is itself a token whole.
* SentencePiece style (Gemma, Llama 2; `tokenizer.ggml.model = llama`): spaces become ▁,
  no pre-tokenizer; the adjacent pair whose concatenation is a token with the highest
  score merges first. Characters that are no token fall back to byte tokens (<0xE2>).
* WordPiece (BERT; `tokenizer.ggml.model = bert`): see wordpiece_replay.
* Unigram (T5, XLM-R; `tokenizer.ggml.model = t5`): see unigram_replay.
"""

from __future__ import annotations

import heapq
from collections.abc import Callable, Iterator
from functools import lru_cache

from app.core.errors import ModelFileError, PromptError
from app.core.tokenizer.llama_unicode import tables
from app.core.tokenizer.pre_tokenizer import DEFAULT, split
from app.core.tokenizer.replay_steps import MAX_CHARACTERS, USER_TOKEN, MergeStep, Replay, Step
from app.core.tokenizer.tokenizer_model import TokenizerModel, fragments
from app.core.tokenizer.unigram_replay import unigram_replay, unigram_tables
from app.core.tokenizer.wordpiece_replay import wordpiece_replay

SPM_SPACE = "▁"


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


def replay(model: TokenizerModel, text: str) -> Replay:
    if not text:
        raise PromptError("the text is empty")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise PromptError("the text is not valid Unicode (it holds a lone surrogate)") from None
    if len(text) > MAX_CHARACTERS:
        raise PromptError(
            f"the replay follows a text of up to {MAX_CHARACTERS:,} characters and shows "
            f"every piece; this one has {len(text):,}: select a shorter part"
        )
    if model.kind == "wordpiece":
        return wordpiece_replay(model, text)
    if model.kind == "unigram":
        return unigram_replay(model, unigram_tables(model), text)
    words: list[list[str]] = []
    pretokens: list[str] = []
    texts: list[str] = []
    labels: list[int | None] = []
    previous_special = True
    for part in fragments(model, text):
        if isinstance(part, int):
            pretokens.append(model.tokens[part])
            texts.append(model.tokens[part])
            words.append([model.tokens[part]])
            labels.append(USER_TOKEN)
            previous_special = True
            continue
        for word, rule, written in _pretokenize(model, part, previous_special):
            pretokens.append(word)
            texts.append(written)
            words.append([word] if _taken_whole(model, word) else list(word))
            labels.append(rule)
        previous_special = False
    initial = tuple(tuple(w) for w in words)
    steps: list[Step] = []
    priority = _bpe_priority(model.ranks) if model.kind == "bpe" else _spm_priority(model)
    for index, symbols in enumerate(words):
        if labels[index] == USER_TOKEN or len(symbols) < 2:
            continue
        for left, right in _merge(symbols, priority):
            steps.append(MergeStep(index, left, right, tuple(symbols)))
    tokens: list[int] = []
    pieces: list[str] = []
    for symbols in words:
        for symbol in symbols:
            _emit(model, symbol, tokens, pieces)
    pre = model.pre
    return Replay(
        model.kind,
        pretokens,
        initial,
        steps,
        tokens,
        pieces,
        pre_tokenizer=describe_pre_tokenizer(model),
        rules=pre.expressions if pre is not None else (),
        pretoken_rules=labels,
        pretoken_texts=texts,
        symbols=_symbols(model),
    )


def _symbols(model: TokenizerModel) -> str:
    if model.pre is not None and not model.pre.raw_utf8:
        return "GPT-2's byte alphabet: a symbol a byte, Ġ a space, Ċ a newline"
    if model.kind == "spm" or (model.pre is not None and model.pre.escape_spaces):
        return "▁ a space"
    return ""


def describe_pre_tokenizer(model: TokenizerModel) -> str:
    pre = model.pre
    if model.kind == "spm":
        return "none (SentencePiece style: spaces become ▁, the whole text merges)"
    if pre is None:
        return ""
    origin = f"llama.cpp's {pre.rule_set} rules"
    if pre.name == DEFAULT:
        return f"default ({origin}: the file names no pre-tokenizer)"
    return f"{pre.name} ({origin})"


def _taken_whole(model: TokenizerModel, word: str) -> bool:
    """llama.cpp's two cases where a word skips the merges: vocabularies that ignore
    merges take a word that is a token whole; Gemma 4 takes a run of newlines that is."""
    pre = model.pre
    if pre is None or word not in model.token_to_id:
        return False
    return pre.ignore_merges or (pre.rule_set == "GEMMA4" and not word.strip("\n"))


def _pretokenize(
    model: TokenizerModel, text: str, previous_special: bool
) -> list[tuple[str, int | None, str]]:
    """Each pre-token as the vocabulary writes it, the rule that cut it, and its text."""
    if model.kind == "spm":
        if model.add_space_prefix and previous_special:
            text = " " + text
        return [(text.replace(" ", SPM_SPACE), None, text)]
    pre = model.pre
    assert pre is not None
    if pre.escape_spaces:
        text = text.replace(" ", SPM_SPACE)
    segments = [text]
    if model.model == "whitespace":
        # llama.cpp's whitespace tokenizer drops whitespace and (usually) lowercases,
        # then tokenizes each remaining run on its own.
        segments = _whitespace_runs(text, model.lowercase)
    alphabet = byte_alphabet()
    words: list[tuple[str, int | None, str]] = []
    for segment in segments:
        for piece in split(pre, segment):
            word = piece.text
            if not pre.raw_utf8:
                word = "".join(alphabet[b] for b in word.encode("utf-8"))
            words.append((word, piece.rule, piece.text))
    return words


def _whitespace_runs(text: str, lowercase: bool) -> list[str]:
    table = tables()
    runs: list[str] = []
    current: list[str] = []
    for char in text:
        cpt = ord(char)
        if table.is_whitespace(cpt):
            if current:
                runs.append("".join(current))
                current = []
        else:
            current.append(chr(table.to_lower(cpt)) if lowercase else char)
    if current:
        runs.append("".join(current))
    return runs


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
            if byte not in model.byte_tokens:
                raise ModelFileError(
                    f"the vocabulary has no byte token <0x{byte:02X}> for “{symbol}”, a "
                    "character it lacks, so llama.cpp cannot tokenize this text either"
                )
            tokens.append(model.byte_tokens[byte])
            pieces.append(f"<0x{byte:02X}>")
        return
    if model.pre is not None and model.pre.raw_utf8:
        # Raw UTF-8 vocabularies (Gemma 4) fall back to <0xXX> tokens, byte by byte.
        for byte in symbol.encode("utf-8"):
            byte_token = model.token_to_id.get(f"<0x{byte:02X}>")
            if byte_token is not None:
                tokens.append(byte_token)
                pieces.append(f"<0x{byte:02X}>")
        return
    # BPE: llama.cpp looks each byte of the symbol up as a one-byte token; only ASCII
    # bytes can be one.
    for byte in symbol.encode("utf-8"):
        byte_token = model.token_to_id.get(chr(byte)) if byte < 0x80 else None
        if byte_token is not None:
            tokens.append(byte_token)
            pieces.append(chr(byte))


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
