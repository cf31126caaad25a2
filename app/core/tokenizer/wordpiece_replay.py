"""WordPiece (BERT-style vocabularies) step by step, as llama.cpp's
llm_tokenizer_wpm_session does it: no merges at all.

1. Normalise and cut into words: accents stripped and letters lowercased (when the file
   says so, with llama.cpp's tables), control characters dropped, whitespace ends a word,
   and each punctuation mark, ASCII symbol or CJK ideograph is a word of its own.
2. Each word, written with a leading ▁, is cut greedily from the left: the longest piece
   that is a token is kept, then the same from where it ended. If some position has no
   token at all, the whole word becomes the unknown token.
"""

from __future__ import annotations

from app.core.tokenizer.llama_unicode import tables
from app.core.tokenizer.replay_steps import USER_TOKEN, Replay, Step, WordPieceStep
from app.core.tokenizer.tokenizer_model import TokenizerModel, fragments

WORD_START = "▁"
SHOWN_TRIES = 6  # the longer candidates a step lists (it counts them all)
RULES = (
    "whitespace ends a word",
    "a punctuation mark, ASCII symbol or CJK ideograph is a word of its own",
)


def is_own_word(cpt: int) -> bool:
    """A character WordPiece makes a word of its own: punctuation, an ASCII symbol, a CJK
    ideograph."""
    category = tables().category(cpt)
    return category == "P" or (cpt < 0x7F and category == "S") or _is_chinese(cpt)


def _is_chinese(cpt: int) -> bool:
    return (
        0x4E00 <= cpt <= 0x9FFF
        or 0x3400 <= cpt <= 0x4DBF
        or 0x20000 <= cpt <= 0x2A6DF
        or 0x2A700 <= cpt <= 0x2B73F
        or 0x2B740 <= cpt <= 0x2B81F
        or 0x2B920 <= cpt <= 0x2CEAF  # as llama.cpp (and Hugging Face's Rust code) write it
        or 0xF900 <= cpt <= 0xFAFF
        or 0x2F800 <= cpt <= 0x2FA1F
    )


def words_of(model: TokenizerModel, text: str) -> list[tuple[str, int]]:
    """llm_tokenizer_wpm_session::preprocess: the words, each with the rule that ended it
    (0: whitespace or the end, 1: a character that is a word of its own)."""
    table = tables()
    words: list[tuple[str, int]] = []
    current: list[str] = []

    def finish() -> None:
        if current:
            words.append(("".join(current), 0))
            current.clear()

    for char in text:
        cpt = ord(char)
        if model.strip_accents:
            cpt = table.strip_accents(cpt)
        category = table.category(cpt)
        if table.is_whitespace(cpt):
            finish()
            continue
        if cpt in (0, 0xFFFD) or category == "C":
            continue
        if model.strip_accents and category == "M":
            continue
        written = chr(table.to_lower(cpt) if model.lowercase else cpt)
        if is_own_word(cpt):
            finish()
            words.append((written, 1))
        else:
            current.append(written)
    finish()
    return words


def _cut(model: TokenizerModel, word: str) -> tuple[list[tuple[str, int, list[str]]], bool]:
    """The greedy longest-match-first cut of one word: each kept piece with its id and the
    longer candidates tried before it; False when some position had no token."""
    data = word.encode("utf-8")
    n = len(data)
    kept: list[tuple[str, int, list[str]]] = []
    i = 0
    while i < n:
        tried: list[str] = []
        for j in range(min(n, i + model.max_token_bytes + 1), i, -1):
            try:
                candidate = data[i:j].decode("utf-8")
            except UnicodeDecodeError:
                continue  # not a whole character: never a token
            token = model.token_to_id.get(candidate)
            if token is not None:
                kept.append((candidate, token, tried))
                i = j
                break
            tried.append(candidate)
        else:
            kept.append(("", -1, tried))
            return kept, False
    return kept, True


def wordpiece_replay(model: TokenizerModel, text: str) -> Replay:
    pretokens: list[str] = []
    labels: list[int | None] = []
    for part in fragments(model, text):
        if isinstance(part, int):
            pretokens.append(model.tokens[part])
            labels.append(USER_TOKEN)
            continue
        for word, rule in words_of(model, part):
            pretokens.append(WORD_START + word)
            labels.append(rule)
    initial = tuple((word,) for word in pretokens)
    steps: list[Step] = []
    tokens: list[int] = []
    pieces: list[str] = []
    for index, word in enumerate(pretokens):
        if labels[index] == USER_TOKEN:
            tokens.append(model.token_to_id[word])
            pieces.append(word)
            continue
        kept, complete = _cut(model, word)
        done: list[str] = []
        for piece, _token, tried in kept:
            shown = tuple(tried[:SHOWN_TRIES])
            if not complete and piece == "":
                unknown = model.tokens[model.unknown]
                steps.append(WordPieceStep(index, unknown, shown, len(tried), (unknown,)))
                break
            done.append(piece)
            rest = word[len("".join(done)) :]
            steps.append(WordPieceStep(index, piece, shown, len(tried), tuple(done), rest))
        if complete:
            tokens.extend(token for _piece, token, _tried in kept)
            pieces.extend(piece for piece, _token, _tried in kept)
        else:
            tokens.append(model.unknown)
            pieces.append(model.tokens[model.unknown])
    return Replay(
        "wordpiece",
        pretokens,
        initial,
        steps,
        tokens,
        pieces,
        pre_tokenizer="WordPiece's own (BERT-style: " + _normaliser(model) + ")",
        rules=RULES,
        pretoken_rules=labels,
    )


def _normaliser(model: TokenizerModel) -> str:
    done = []
    if model.lowercase:
        done.append("lowercased")
    if model.strip_accents:
        done.append("accents stripped")
    return ", ".join(done) if done else "text kept as written"
