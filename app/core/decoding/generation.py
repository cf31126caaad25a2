"""Greedy and sampled generation, one stream or several in lockstep.

All streams share the prompt's KV cells (decoded once into sequence 0, then copied as
metadata) and each step decodes one token per live stream in a single batch. Each step
is analysed from the logits view before the next decode overwrites it, or from a copy
while the next decode runs (`Engine.overlap_analysis`, see `run_streams`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.logit_analysis import LogitsScratch, analyze_logits
from app.core.decoding.sampler_chain import SamplerChain
from app.core.decoding.step_distribution import StepDistribution
from app.core.decoding.step_records import GenerationStats, SampleRecord, StopReason, TokenStep
from app.core.errors import SettingsError
from app.core.llama.engine import MAX_SEQUENCES, Engine
from app.core.tokenizer.utf8_stream import Utf8Stream


@dataclass
class StreamResult:
    settings: DecodingSettings
    steps: list[TokenStep] = field(default_factory=list)
    text: str = ""
    stop_reason: StopReason | None = None

    @property
    def ids(self) -> list[int]:
        return [s.id for s in self.steps]


StepCallback = Callable[[int, TokenStep], None]


class _Stream:
    def __init__(self, engine: Engine, settings: DecodingSettings, seq: int) -> None:
        self.engine = engine
        self.settings = settings
        self.seq = seq
        self.result = StreamResult(settings)
        self.utf8 = Utf8Stream()
        self.sampler = (
            SamplerChain(settings, engine.n_vocab)
            if settings.mode == "sample" and settings.temperature > 0
            else None
        )
        self.last_token = -1
        self.n_chosen = 0
        self._row_copy: npt.NDArray[np.float32] | None = None

    @property
    def done(self) -> bool:
        return self.result.stop_reason is not None

    def choose(
        self, dist: StepDistribution, logits_row: object, index: int
    ) -> tuple[int, SampleRecord | None]:
        if self.sampler is None:
            return int(dist.head_ids[0]), None
        record = self.sampler.draw(dist, logits_row, index)  # type: ignore[arg-type]
        return record.chosen_id, record

    def keep_row(self, row: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """A copy of the logits row that outlives the next decode."""
        if self._row_copy is None:
            self._row_copy = np.empty_like(row)
        np.copyto(self._row_copy, row)
        return self._row_copy

    def advance(self, token: int, decode_pos: int) -> bool:
        """Count a chosen token and decide whether the stream stops here; returns whether
        the token ends the text (an end-of-generation token).

        `decode_pos` is where the token would be decoded to continue.
        """
        self.last_token = token
        self.n_chosen += 1
        vocab = self.engine.vocab
        settings = self.settings
        if vocab.is_eog(token):
            self._finish("eog")
            return True
        self.utf8.push(vocab.piece(token, special=False))
        if settings.stop:
            text = self.utf8.text
            hits = [text.find(s) for s in settings.stop if s in text]
            if hits:
                self.utf8.text = text[: min(hits)]
                self._finish("stop_string", flush=False)
                return False
        if self.n_chosen >= settings.max_tokens:
            self._finish("max_tokens")
        elif decode_pos >= self.engine.n_ctx:
            self._finish("context_full")
        return False

    def _finish(self, reason: StopReason, *, flush: bool = True) -> None:
        if flush:
            self.utf8.flush()
        self.result.text = self.utf8.text
        self.result.stop_reason = reason
        if self.sampler is not None:
            self.sampler.close()

    def cancel(self) -> None:
        if not self.done:
            self._finish("cancelled")


def run_streams(
    engine: Engine,
    prompt_ids: Sequence[int],
    settings_list: Sequence[DecodingSettings],
    *,
    cancel: threading.Event | None = None,
    on_step: StepCallback | None = None,
    stats: GenerationStats | None = None,
    first_index: int = 0,
    batched: int = 0,
) -> list[StreamResult]:
    """Generate N greedy / sampled streams from one prompt in lockstep.

    `first_index` is the text's step number of the first token generated here (a run
    continued after `first_index` kept tokens): steps are numbered from it, and a sampled
    step k draws the seed's k-th uniform number, so continuing, stepping and branching
    draw what one uninterrupted run would have. The text's first `batched` generated
    tokens came from beam search (no single run decoded them one by one): they are decoded
    in batches with the prompt.

    With `engine.overlap_analysis`, a greedy stream's step is analysed from a copy of its
    logits while the next batch decodes on another thread (ctypes releases the GIL), so
    on a GPU the analysis costs no decode time. The results are the same either way.
    """
    if not settings_list:
        return []
    if first_index < 0 or not 0 <= batched <= first_index:
        raise SettingsError(f"bad step offsets: first {first_index}, batched {batched}")
    if len(settings_list) > MAX_SEQUENCES:
        raise SettingsError(f"at most {MAX_SEQUENCES} streams run together")
    for settings in settings_list:
        settings.validated()
        if settings.mode == "beam":
            raise SettingsError("beam search runs through app.core.decoding.beam_search")
    stats = stats or GenerationStats()
    stats.prompt_tokens = len(prompt_ids)
    scratch = LogitsScratch(engine.n_vocab)
    streams = [_Stream(engine, s, seq) for seq, s in enumerate(settings_list)]

    start = time.perf_counter()
    # The text so far (the prompt, then `first_index` generated tokens) decoded as one
    # uninterrupted run decodes it; what the cache holds that way already is reused.
    n_batched = len(prompt_ids) - first_index + batched
    if engine.decode_text(prompt_ids, n_batched, cancel) < 0:
        for stream in streams:
            stream.cancel()  # stopped while the text so far was decoded again
        return [stream.result for stream in streams]
    for stream in streams[1:]:
        engine.copy_sequence(0, stream.seq)
    stats.prefill_seconds = time.perf_counter() - start

    def emit(stream: _Stream, step: TokenStep) -> None:
        stream.result.steps.append(step)
        stats.generated_tokens += 1
        if on_step is not None:
            on_step(stream.seq, step)

    def step_of(
        index: int,
        token: int,
        row: npt.NDArray[np.float32],
        dist: StepDistribution,
        sample: SampleRecord | None,
        ends: bool,
    ) -> TokenStep:
        return TokenStep(
            index=first_index + index,
            id=token,
            piece=engine.vocab.piece(token, special=True),
            logit=float(row[token]),
            temperature=1.0,  # the model distribution; views re-score at their own T
            distribution=dist,
            sample=sample,
            chosen_by="greedy" if sample is None else "sample",
            ends_generation=ends,
        )

    executor = (
        ThreadPoolExecutor(max_workers=1, thread_name_prefix="decode")
        if engine.overlap_analysis
        else None
    )
    pos = len(prompt_ids)
    # Which batch row holds each stream's logits; after the prompt all share the last row.
    rows = {stream.seq: -1 for stream in streams}
    prompt_dist: StepDistribution | None = None
    decode_start = 0.0
    index = 0
    try:
        while True:
            deferred: list[tuple[_Stream, int, npt.NDArray[np.float32], bool]] = []
            for stream in streams:
                if stream.done:
                    continue
                row = engine.logits(rows[stream.seq])
                if executor is not None and index > 0 and stream.sampler is None:
                    token = int(np.argmax(row))  # the head's first token: same tie rule
                    kept = stream.keep_row(row)
                    deferred.append((stream, token, kept, stream.advance(token, pos)))
                    continue
                if index == 0:
                    prompt_dist = prompt_dist or analyze_logits(row, scratch)
                    dist = prompt_dist
                else:
                    dist = analyze_logits(row, scratch)
                token, sample = stream.choose(dist, row, first_index + index)
                ends = stream.advance(token, pos)
                emit(stream, step_of(index, token, row, dist, sample, ends))
            if index == 0:
                stats.time_to_first_token = time.perf_counter() - start
                decode_start = time.perf_counter()
            live = [s for s in streams if not s.done]
            if live and cancel is not None and cancel.is_set():
                for stream in live:
                    stream.cancel()
                live = []
            pending: Future[None] | None = None
            if live:
                entries = [(s.last_token, pos, s.seq, True) for s in live]
                if executor is not None and deferred:
                    pending = executor.submit(engine.decode, entries)
                else:
                    engine.decode(entries)
            try:
                for stream, token, kept, ends in deferred:
                    dist = analyze_logits(kept, scratch)
                    emit(stream, step_of(index, token, kept, dist, None, ends))
            finally:
                if pending is not None:
                    wait([pending])  # never leave a decode running behind an error
            if pending is not None:
                pending.result()  # a failed decode raises here
            if not live:
                break
            rows = {s.seq: i for i, s in enumerate(live)}
            pos += 1
            index += 1
    finally:
        if executor is not None:
            executor.shutdown(wait=True)
    stats.decode_seconds = time.perf_counter() - decode_start if decode_start else 0.0
    # generated_tokens counts every stream's tokens; per-stream speed is the caller's view.
    return [stream.result for stream in streams]


def generate(
    engine: Engine,
    prompt_ids: Sequence[int],
    settings: DecodingSettings,
    *,
    cancel: threading.Event | None = None,
    on_step: Callable[[TokenStep], None] | None = None,
    stats: GenerationStats | None = None,
    first_index: int = 0,
    batched: int = 0,
) -> StreamResult:
    """One greedy or sampled stream (see `run_streams` for `first_index` and `batched`)."""
    callback: StepCallback | None = None
    if on_step is not None:
        step_callback = on_step

        def callback(_seq: int, step: TokenStep) -> None:
            step_callback(step)

    return run_streams(
        engine,
        prompt_ids,
        [settings],
        cancel=cancel,
        on_step=callback,
        stats=stats,
        first_index=first_index,
        batched=batched,
    )[0]
