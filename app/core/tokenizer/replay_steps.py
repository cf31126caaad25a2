"""What a replay shows: the pre-tokens, each step's pieces, the final tokens."""

from __future__ import annotations

from dataclasses import dataclass, field

USER_TOKEN = -1  # a pre-token that is a user-defined token, cut out first


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
class WordPieceStep:
    """One WordPiece choice: the longest piece that is a token, and the longer candidates
    tried before it (longest first, capped); `pieces` holds the pieces kept so far and,
    for the pre-tokens in `open_words`, the rest of the word still to cut as last piece."""

    pretoken: int
    kept: str
    tried: tuple[str, ...]
    tried_count: int
    pieces: tuple[tuple[str, ...], ...]
    open_words: frozenset[int] = frozenset()

    @property
    def flat_pieces(self) -> list[str]:
        return [piece for word in self.pieces for piece in word]


@dataclass(frozen=True)
class UnigramStep:
    """The best cut of the text up to one more character: its pieces (and the rest still
    to read as a last piece), its score, and the token it ends with."""

    pretoken: int
    position: int  # characters read
    score: float
    last: str
    last_score: float
    pieces: tuple[tuple[str, ...], ...]
    open_words: frozenset[int] = frozenset()

    @property
    def flat_pieces(self) -> list[str]:
        return [piece for word in self.pieces for piece in word]


Step = MergeStep | WordPieceStep | UnigramStep


@dataclass(frozen=True)
class Replay:
    kind: str  # "bpe", "spm", "wordpiece" or "unigram"
    pretokens: list[str]  # as the vocabulary writes them (Ġ / ▁ for spaces)
    initial: tuple[tuple[str, ...], ...]  # each pre-token split into characters
    steps: list[Step]
    tokens: list[int]
    token_pieces: list[str] = field(default_factory=list)  # the final tokens' strings
    # The pre-tokenizer: its name, its expressions (or rules) in order, and for each
    # pre-token the index of the one whose match it is (None: text between matches,
    # USER_TOKEN: a user-defined token).
    pre_tokenizer: str = ""
    rules: tuple[str, ...] = ()
    pretoken_rules: list[int | None] = field(default_factory=list)
    # Each pre-token as text (GPT-2's byte alphabet undone); empty: as `pretokens`.
    pretoken_texts: list[str] = field(default_factory=list)
    symbols: str = ""  # how the merges' symbols write the text ("" when as it is)

    def pretoken_text(self, index: int) -> str:
        return self.pretoken_texts[index] if self.pretoken_texts else self.pretokens[index]
