"""Lockstep streams, beam search against a reference, and the ways a run stops."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from app.core.decoding.beam_search import beam_search
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate, run_streams
from app.core.decoding.step_distribution import full_softmax
from app.core.decoding.step_records import TokenStep
from app.core.errors import PromptError, SettingsError
from app.core.llama.engine import Engine
from app.core.llama.engine_config import EngineConfig
from app.core.tokenizer.utf8_stream import Utf8Stream


def test_lockstep_streams_equal_each_run_alone(engine: Engine, prompt_ids: list[int]) -> None:
    settings = [
        DecodingSettings(mode="greedy", max_tokens=24),
        DecodingSettings(mode="sample", temperature=0.8, seed=1, max_tokens=24),
        DecodingSettings(mode="sample", temperature=1.2, seed=2, top_k=0, max_tokens=24),
    ]
    together = run_streams(engine, prompt_ids, settings)
    for s, result in zip(settings, together, strict=True):
        alone = generate(engine, prompt_ids, s)
        assert result.ids == alone.ids
        assert result.text == alone.text
    assert together[0].ids != together[1].ids


def test_overlapped_analysis_gives_the_same_steps(
    engine: Engine, prompt_ids: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Analysing greedy steps while the next batch decodes (the GPU mode) changes nothing."""
    decode_threads: list[str] = []
    decode = engine.decode

    def traced_decode(entries: list[tuple[int, int, int, bool]]) -> None:
        decode_threads.append(threading.current_thread().name)
        decode(entries)

    monkeypatch.setattr(engine, "decode", traced_decode)
    settings = [
        DecodingSettings(mode="greedy", max_tokens=20),
        DecodingSettings(mode="sample", temperature=0.9, seed=3, max_tokens=20),
        DecodingSettings(mode="greedy", max_tokens=12, stop=["\n"]),
    ]
    sequential = run_streams(engine, prompt_ids, settings)
    seen: list[tuple[int, int]] = []
    engine.overlap_analysis = True
    try:
        overlapped = run_streams(
            engine, prompt_ids, settings, on_step=lambda seq, step: seen.append((seq, step.index))
        )
    finally:
        engine.overlap_analysis = False
    for before, after in zip(sequential, overlapped, strict=True):
        assert after.ids == before.ids
        assert after.text == before.text
        assert after.stop_reason == before.stop_reason
        for a, b in zip(after.steps, before.steps, strict=True):
            assert a.index == b.index
            assert a.p == b.p
            assert [t.id for t in a.top(5)] == [t.id for t in b.top(5)]
    assert any(name.startswith("decode") for name in decode_threads)
    assert sorted(seen) == sorted(
        (seq, s.index) for seq, r in enumerate(overlapped) for s in r.steps
    )


def _reference_beam(
    engine: Engine, prompt_ids: list[int], width: int, length: int
) -> list[tuple[list[int], float]]:
    """Plain beam search: every hypothesis decoded on its own, one at a time."""

    def logprobs(ids: list[int]) -> np.ndarray:
        engine.clear()
        engine.prefill(prompt_ids)
        for i, token in enumerate(ids):
            engine.decode([(token, len(prompt_ids) + i, 0, True)])
        row = engine.logits(-1 if not ids else 0).astype(np.float64)
        return np.log(full_softmax(row))

    beams: list[tuple[list[int], float]] = [([], 0.0)]
    finished: list[tuple[list[int], float]] = []
    for _ in range(length):
        candidates = []
        for ids, score in beams:
            lp = logprobs(ids)
            for token in np.argsort(-lp, kind="stable")[:width]:
                candidates.append((score + lp[token], [*ids, int(token)]))
        candidates.sort(key=lambda c: -c[0])
        beams = []
        for score, ids in candidates:
            if engine.vocab.is_eog(ids[-1]):
                if len(finished) < width:
                    finished.append((ids, score))
            else:
                beams.append((ids, score))
            if len(beams) == width:
                break
        if not beams or len(finished) >= width:
            break
    finished += beams
    finished.sort(key=lambda h: -h[1])
    return finished


@pytest.mark.parametrize(("width", "length"), [(1, 5), (2, 5), (3, 4)])
def test_beam_search_equals_reference(
    engine: Engine, prompt_ids: list[int], width: int, length: int
) -> None:
    ours = beam_search(
        engine, prompt_ids, DecodingSettings(mode="beam", beam_width=width, max_tokens=length)
    )
    reference = _reference_beam(engine, prompt_ids, width, length)
    assert [h.ids for h in ours.hypotheses] == [ids for ids, _ in reference]
    for hyp, (_ids, score) in zip(ours.hypotheses, reference, strict=True):
        assert hyp.logprob == pytest.approx(score, abs=1e-4)
    # The tree: width candidates per beam per step; kept ones are the next beams.
    kept = [n for n in ours.nodes if n.kept]
    assert len(kept) <= width * length
    best_path = []
    node = ours.nodes[ours.best.last_node]
    while True:
        best_path.append(node.token)
        if node.parent < 0:
            break
        node = ours.nodes[node.parent]
    assert best_path[::-1] == ours.best.ids


def test_beam_width_one_is_greedy(engine: Engine, prompt_ids: list[int]) -> None:
    beam = beam_search(
        engine, prompt_ids, DecodingSettings(mode="beam", beam_width=1, max_tokens=10)
    )
    greedy = generate(engine, prompt_ids, DecodingSettings(mode="greedy", max_tokens=10))
    assert beam.best.ids == greedy.ids


def test_length_penalty_reranks(engine: Engine, prompt_ids: list[int]) -> None:
    s = DecodingSettings(mode="beam", beam_width=3, max_tokens=6, length_penalty=1.0)
    result = beam_search(engine, prompt_ids, s)
    for hyp in result.hypotheses:
        assert hyp.score == pytest.approx(hyp.logprob / len(hyp.ids))
    assert [h.score for h in result.hypotheses] == sorted(
        (h.score for h in result.hypotheses), reverse=True
    )


def test_cancel_between_decodes(engine: Engine, prompt_ids: list[int]) -> None:
    cancel = threading.Event()
    seen: list[TokenStep] = []

    def on_step(step: TokenStep) -> None:
        seen.append(step)
        if len(seen) == 3:
            cancel.set()

    result = generate(
        engine, prompt_ids, DecodingSettings(max_tokens=50), cancel=cancel, on_step=on_step
    )
    assert result.stop_reason == "cancelled"
    assert len(result.steps) == 3
    # The engine stays usable after a cancelled run.
    after = generate(engine, prompt_ids, DecodingSettings(max_tokens=3))
    assert after.stop_reason == "max_tokens"


def test_full_context_stops_cleanly(model_path: object) -> None:
    with Engine(str(model_path), EngineConfig(n_ctx=256)) as small:
        ids = small.tokenize_prompt("Count: 1, 2, 3,")
        result = generate(small, ids, DecodingSettings(max_tokens=1000))
        assert result.stop_reason in ("context_full", "eog")
        if result.stop_reason == "context_full":
            assert len(ids) + len(result.steps) == small.n_ctx + 1
        with pytest.raises(PromptError, match="context holds"):
            small.tokenize_prompt("word " * 400)


def test_stop_strings_and_max_tokens(engine: Engine, prompt_ids: list[int]) -> None:
    full = generate(engine, prompt_ids, DecodingSettings(max_tokens=20))
    word = full.text.split()[3]
    stopped = generate(engine, prompt_ids, DecodingSettings(max_tokens=20, stop=(word,)))
    assert stopped.stop_reason == "stop_string"
    assert stopped.text == full.text[: full.text.find(word)]
    assert full.stop_reason == "max_tokens" and len(full.steps) == 20


def test_split_utf8_characters_join_exactly(engine: Engine) -> None:
    text = "Ünïcödé 🦙 𓀀 語 — 🧑‍🚀 end"
    ids = engine.vocab.tokenize(text, add_bos=False)
    pieces = [engine.vocab.piece(i, special=False) for i in ids]
    assert any(len(p) == 1 and p[0] >= 0x80 for p in pieces), "expected byte-fallback tokens"
    stream = Utf8Stream()
    shown = "".join(stream.push(p) for p in pieces) + stream.flush()
    assert shown == text
    assert "\ufffd" not in shown
    assert stream.text == text


def test_bad_settings_are_refused(engine: Engine, prompt_ids: list[int]) -> None:
    for bad, message in [
        (DecodingSettings(temperature=-0.1), "temperature"),
        (DecodingSettings(top_p=0.0), "top-p"),
        (DecodingSettings(top_p=1.5), "top-p"),
        (DecodingSettings(mode="beam", beam_width=0), "beam width"),
        (DecodingSettings(max_tokens=0), "max tokens"),
    ]:
        with pytest.raises(SettingsError, match=message):
            bad.validated()
    with pytest.raises(PromptError, match="empty"):
        engine.tokenize_prompt("")
