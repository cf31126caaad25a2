"""A llama-server as the engine behind the views: the same TokenSteps, from its top N.

The server decodes (greedy, or sampling with the chosen settings and seed, its sampler
chain set to the local engine's order) and streams each token with its log-probability
and its top N alternatives at T = 1; each becomes a TokenStep whose distribution is a
TopNDistribution (exact inside the top N, the rest estimated and bounded). Token pieces
come with the answers and are kept; whether a token ends generation is asked of the
server once per token (it says "eos" when a forced token is one) and kept too.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from os.path import basename
from urllib.parse import urlsplit

from app.core.backends.server_answers import ServerError, ServerMissingError, ServerToken
from app.core.backends.server_client import ServerClient
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import ChosenBy, GenerationStats, StopReason, TokenStep
from app.core.decoding.top_n_distribution import from_top_logprobs
from app.core.errors import PromptError
from app.core.llama.prompt_checks import check_prompt

TOP_N = 20  # alternatives per token: what vLLM allows by default, what the chart shows well
STOP_REASONS: dict[str, StopReason] = {"eos": "eog", "limit": "max_tokens", "word": "stop_string"}
_FORCE = 1000.0  # a logit bias no other token can beat
_CHATML_MARKER = "<|im_start|>"


class _Cancelled(Exception):
    pass


@dataclass(frozen=True)
class RemoteInfo:
    """What the server said about itself when the app connected."""

    url: str
    model: str  # the model file's name
    slots: int
    n_ctx: int  # per slot
    n_vocab: int
    build: str
    chat_template: bool

    @property
    def address(self) -> str:
        return urlsplit(self.url).netloc

    def describe(self) -> str:
        """As the status bar names the backend."""
        slots = f"{self.slots} slot{'s' if self.slots != 1 else ''}"
        return f"llama-server at {self.address} · {self.model} · {slots}"


@dataclass(frozen=True)
class RemoteRun:
    stop_reason: StopReason
    stats: GenerationStats


class RemoteVocabulary:
    """Pieces and end-of-generation flags of the server's tokens, learnt as they come."""

    def __init__(self, client: ServerClient, n_vocab: int) -> None:
        self._client = client
        self.n_vocab = n_vocab
        self._pieces: dict[int, bytes] = {}
        self._eog: dict[int, bool] = {}
        self._lock = threading.Lock()  # beam search asks from several threads

    def learn(self, token: ServerToken) -> None:
        with self._lock:
            self._pieces.setdefault(token.id, token.piece)
            for alternative in token.top:
                self._pieces.setdefault(alternative.id, alternative.piece)

    def remember(self, token_id: int, piece: bytes) -> None:
        with self._lock:
            self._pieces.setdefault(token_id, piece)

    def piece(self, token_id: int, *, special: bool = True) -> bytes:
        with self._lock:
            known = self._pieces.get(token_id)
        if known is not None:
            return known
        piece = self._client.detokenize([token_id]).encode("utf-8")
        with self._lock:
            self._pieces[token_id] = piece
        return piece

    def note_eog(self, token_id: int, eog: bool) -> None:
        with self._lock:
            self._eog[token_id] = eog

    def is_eog(self, token_id: int) -> bool:
        """Asked once per token: the server generates it, forced by a logit bias, and
        says whether generation stopped at it ("eos")."""
        with self._lock:
            known = self._eog.get(token_id)
        if known is not None:
            return known
        answer = self._client.complete(
            [token_id], n_predict=1, n_probs=1, logit_bias={token_id: _FORCE}
        )
        eog = answer.stop_type == "eos"
        self.note_eog(token_id, eog)
        return eog

    def is_control(self, token_id: int) -> bool:
        piece = self.piece(token_id)
        return piece.startswith(b"<") and piece.endswith(b">") and b" " not in piece

    def detokenize(self, ids: Sequence[int]) -> bytes:
        return self._client.detokenize(list(ids)).encode("utf-8")


class RemoteEngine:
    """One llama-server, asked for every step. Safe to use from several threads: each
    request opens its own connection."""

    def __init__(self, url: str, api_key: str | None = None, top_n: int = TOP_N) -> None:
        self.client = ServerClient(url, api_key)
        try:
            props = self.client.props()
        except ServerMissingError:
            raise ServerError(
                f"{self.client.url} is not a llama-server (it has no /props): connect to one "
                "started with `llm-playground serve`. OpenAI-compatible servers such as vLLM "
                "send too little (no tokenizer, no vocabulary size) for these views."
            ) from None
        n_vocab = self.client.vocab_size()
        self.info = RemoteInfo(
            url=self.client.url,
            model=basename(props.model_path) or "the server's model",
            slots=props.total_slots,
            n_ctx=props.n_ctx,
            n_vocab=n_vocab,
            build=props.build_info,
            chat_template=self._has_own_template(props.chat_template),
        )
        self.vocab = RemoteVocabulary(self.client, n_vocab)
        self.top_n = top_n

    def _has_own_template(self, template: str) -> bool:
        """llama-server falls back to ChatML for a model without a chat template (a base
        model): a ChatML template whose markers are not tokens of the model is that."""
        if not template:
            return False
        if _CHATML_MARKER not in template:
            return True
        return len(self.client.tokenize(_CHATML_MARKER, add_special=False)) == 1

    @property
    def n_ctx(self) -> int:
        return self.info.n_ctx

    def close(self) -> None:
        """Nothing to free: the server keeps the model."""

    # ---- prompts ---------------------------------------------------------------------
    def tokenize_prompt(self, prompt: str, *, add_bos: bool = True) -> list[int]:
        if not prompt:
            raise PromptError("the prompt is empty")
        tokens = self.client.tokenize(prompt, add_special=add_bos, parse_special=False)
        return self._checked_prompt([self._known(i, p) for i, p in tokens], "prompt")

    def chat_prompt_ids(self, user_text: str) -> list[int]:
        """One user turn through the server's chat template (it writes BOS itself)."""
        if not self.info.chat_template:
            raise PromptError(
                f"{self.info.model} has no chat template: it is a base model, or its GGUF "
                "lacks tokenizer.chat_template"
            )
        text = self.client.apply_template(user_text)
        tokens = self.client.tokenize(text, add_special=False, parse_special=True)
        return self._checked_prompt([self._known(i, p) for i, p in tokens], "chat prompt")

    def _known(self, token_id: int, piece: bytes) -> int:
        self._check_id(token_id)
        self.vocab.remember(token_id, piece)
        return token_id

    def _checked_prompt(self, ids: list[int], what: str) -> list[int]:
        if self.n_ctx > 0:  # 0: the server did not say
            check_prompt(len(ids), self.n_ctx, what=what, hint=" per request on the server")
        return ids

    def _check_id(self, token_id: int) -> None:
        if not 0 <= token_id < self.info.n_vocab:
            raise ServerError(
                f"{self.info.url} sent token {token_id}, outside the vocabulary of "
                f"{self.info.n_vocab:,}"
            )

    # ---- steps -----------------------------------------------------------------------
    def step_from(
        self, token: ServerToken, index: int, chosen_by: ChosenBy, ends: bool
    ) -> TokenStep:
        """A server's token as a TokenStep (its log p at T = 1 is its "logit")."""
        for token_id in (token.id, *(a.id for a in token.top)):
            self._check_id(token_id)
        if not token.top and not math.isfinite(token.logprob):
            raise ServerError(f"{self.info.url} sent a token with no probability")
        self.vocab.learn(token)
        dist = from_top_logprobs(
            self.info.n_vocab,
            [(a.id, a.logprob) for a in token.top] or [(token.id, token.logprob)],
            (token.id, token.logprob),
        )
        return TokenStep(
            index=index,
            id=token.id,
            piece=token.piece,
            logit=token.logprob,
            temperature=1.0,
            distribution=dist,
            chosen_by=chosen_by,
            ends_generation=ends,
        )

    def generate(
        self,
        prompt_ids: Sequence[int],
        settings: DecodingSettings,
        *,
        cancel: threading.Event | None = None,
        on_step: Callable[[TokenStep], None] | None = None,
        first_index: int = 0,
    ) -> RemoteRun:
        """One greedy or sampled stream, streamed: `on_step` gets each token as it
        arrives. Cancelling closes the connection, which stops the server's slot."""
        settings.validated()
        stats = GenerationStats(prompt_tokens=len(prompt_ids))
        if len(prompt_ids) >= self.n_ctx > 0:
            return RemoteRun("context_full", stats)
        sampled = settings.mode == "sample" and settings.temperature > 0
        chosen_by: ChosenBy = "sample" if settings.mode == "sample" else "greedy"
        start = time.perf_counter()
        steps: list[TokenStep] = []
        pending: list[ServerToken] = []  # a token waits until the next says it was not last

        def emit(token: ServerToken, ends: bool) -> None:
            step = self.step_from(token, first_index + len(steps), chosen_by, ends)
            steps.append(step)
            if len(steps) == 1:
                stats.time_to_first_token = time.perf_counter() - start
            if on_step is not None:
                on_step(step)

        def arrived(token: ServerToken) -> None:
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            if pending:
                before = pending.pop()
                self.vocab.note_eog(before.id, False)  # the server went on after it
                emit(before, False)
            pending.append(token)

        try:
            answer = self.client.complete(
                list(prompt_ids),
                n_predict=settings.max_tokens,
                n_probs=self.top_n,
                temperature=settings.temperature if sampled else 0.0,
                top_k=settings.top_k if sampled else 0,
                top_p=settings.top_p if sampled else 1.0,
                min_p=settings.min_p if sampled else 0.0,
                seed=settings.seed if sampled else None,
                stop=settings.stop,
                on_token=arrived,
            )
        except _Cancelled:
            stats.generated_tokens = len(steps)
            return RemoteRun("cancelled", stats)
        reason = STOP_REASONS.get(answer.stop_type, "max_tokens")
        if pending:
            last = pending.pop()
            self.vocab.note_eog(last.id, reason == "eog")
            emit(last, reason == "eog")
        if reason == "max_tokens" and len(steps) < settings.max_tokens:
            reason = "context_full"  # the server stopped at its context's end
        stats.generated_tokens = len(steps)
        timings = answer.timings
        stats.prefill_seconds = timings.get("prompt_ms", 0.0) / 1000
        stats.decode_seconds = timings.get("predicted_ms", 0.0) / 1000
        return RemoteRun(reason, stats)

    def next_token_steps(
        self, ids: Sequence[int], width: int, index: int
    ) -> tuple[list[TokenStep], bool]:
        """The `width` most likely next tokens after `ids` as steps of one distribution
        (one token decoded: the server reuses the cached prefix), and whether the most
        likely one ends generation (the server says so as it stops)."""
        answer = self.client.complete(list(ids), n_predict=1, n_probs=max(self.top_n, width))
        if not answer.tokens:
            raise ServerError(f"{self.info.url} sent no token")
        token = answer.tokens[0]
        first = self.step_from(token, index, "beam", False)
        self.vocab.note_eog(token.id, answer.stop_type == "eos")
        steps = [
            replace(first, id=entry.id, piece=self.vocab.piece(entry.id), logit=entry.logit)
            for entry in first.top(width, 1.0)
        ]
        return steps, answer.stop_type == "eos"
