"""What a replay shows: the pre-tokens, each step, the final tokens.

A step keeps only the pre-token it changed (a merge, a WordPiece choice) or a link to the
step it extends (a Unigram cut): the state after any step is rebuilt on demand, so a
replay's size grows with the text, not with the text times its steps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

USER_TOKEN = -1  # a pre-token that is a user-defined token, cut out first
MAX_CHARACTERS = 2_000  # the longest text a replay follows (its view shows every piece)


@dataclass(frozen=True)
class MergeStep:
    """One merge: which pre-token, the pair, and that pre-token's pieces after it."""

    pretoken: int
    left: str
    right: str
    word: tuple[str, ...]
    rest: str = ""


@dataclass(frozen=True)
class WordPieceStep:
    """One WordPiece choice: the longest piece that is a token, the longer candidates
    tried before it (longest first, capped) and how many; the pieces kept so far in this
    word (or the unknown token) and the rest of it still to cut."""

    pretoken: int
    kept: str
    tried: tuple[str, ...]
    tried_count: int
    word: tuple[str, ...]
    rest: str = ""


@dataclass(frozen=True)
class UnigramStep:
    """The best cut of the text up to one more character: its score, the token it ends
    with, and the step whose cut it extends (-1: it starts the text); the rest is still
    to read."""

    pretoken: int
    position: int  # characters read
    score: float
    last: str
    last_score: float
    previous: int
    rest: str = ""


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

    def _cut(self, index: int) -> tuple[str, ...]:
        """The pieces step `index` leaves in its pre-token, without the rest."""
        step = self.steps[index]
        if not isinstance(step, UnigramStep):
            return step.word
        pieces: list[str] = []
        while index >= 0:
            link = self.steps[index]
            assert isinstance(link, UnigramStep)
            pieces.append(link.last)
            index = link.previous
        return tuple(reversed(pieces))

    def word_after(self, index: int) -> tuple[str, ...]:
        """The pieces of the pre-token step `index` changed, right after it (with the
        rest still to cut, if any)."""
        rest = self.steps[index].rest
        return self._cut(index) + ((rest,) if rest else ())

    def _latest(self, position: int) -> dict[int, int]:
        """For each pre-token a step changed, the last such step among the first
        `position`."""
        latest: dict[int, int] = {}
        for index in range(position - 1, -1, -1):
            latest.setdefault(self.steps[index].pretoken, index)
        return latest

    def pieces_at(self, position: int) -> tuple[tuple[str, ...], ...]:
        """Every pre-token's pieces after `position` steps (0: the start); a pre-token
        still being cut ends with its rest."""
        words = list(self.initial)
        for pretoken, index in self._latest(position).items():
            words[pretoken] = self.word_after(index)
        return tuple(words)

    def open_words_at(self, position: int) -> frozenset[int]:
        """The pre-tokens whose last piece after `position` steps is still to cut."""
        return frozenset(
            pretoken for pretoken, index in self._latest(position).items() if self.steps[index].rest
        )

    def flat_pieces_at(self, position: int) -> list[str]:
        return [piece for word in self.pieces_at(position) for piece in word]
