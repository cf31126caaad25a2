"""Record the runs and tokenizations that tests/widgets replay, with the real default model.

Writes, beside this script:

* greedy.session.json.gz: a greedy run of "Q: What is the capital of France?\\nA:" in
  which the user then forced <eos> at the last step whose top tokens hold it (the
  Workspace's branch: the run ends there, "the model ended its text");
* sampled.session.json.gz: "The meaning of life is" sampled at T = 0.8, top-k 40, a
  fixed seed;
* beam.session.json.gz: beam search of width 3 after "Once upon a time", with its
  whole tree of candidates and the best beam's path;
* tokens.json: the Tokenizer tab's tokens (TokenInfo) and split characters of a few
  texts: English with a double space and a newline, emoji, German.

Sessions are the app's own format (session_file.save_session), gzipped: each step keeps
its full summarised distribution, about 25 KB of JSON. Run it again after a change to
the session format or to the default model:

    .venv/bin/python tests/data/recorded/record_sessions.py
"""

from __future__ import annotations

import gzip
import json
import os
import tempfile
from dataclasses import replace
from pathlib import Path

from app.core.decoding.beam_search import beam_search
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.decoding.step_records import BeamNode, TokenStep
from app.core.library.default_model import default_model_path
from app.core.library.file_hash import cached_sha256
from app.core.llama.engine import Engine
from app.core.llama.engine_config import EngineConfig
from app.core.llama.vocabulary import Vocabulary
from app.core.runs.run_record import RunRecord
from app.core.runs.session_file import SessionView, save_session
from app.core.tokenizer.text_tokens import split_characters
from app.workers.step_reports import StepReporter

HERE = Path(__file__).resolve().parent

GREEDY_PROMPT = "Q: What is the capital of France?\nA:"
SAMPLED_PROMPT = "The meaning of life is"
BEAM_PROMPT = "Once upon a time"
RUN_TOKENS = 24
BEAM_STEPS = 8
GREEDY = DecodingSettings(mode="greedy", temperature=1.0, max_tokens=RUN_TOKENS)
SAMPLED = DecodingSettings(mode="sample", temperature=0.8, top_k=40, seed=42, max_tokens=RUN_TOKENS)
BEAM = DecodingSettings(mode="beam", beam_width=3, max_tokens=BEAM_STEPS)
TOKENIZED_TEXTS = (
    "Tokens are  pieces of text.\nA second line follows.",
    "Pizza 🍕 tonight, or a flamingo 🦩?",
    "Grüße aus München: Die Straßenbahn fährt über die Brücke.",
)


def pieces_of(vocab: Vocabulary, steps: list[TokenStep]) -> dict[int, bytes]:
    """The pieces the engine thread sends with a run's steps (chosen and top tokens)."""
    reporter = StepReporter(vocab)
    pieces: dict[int, bytes] = {}
    for step in steps:
        pieces.update(reporter.report(step).pieces)
    return pieces


def record_greedy(engine: Engine) -> RunRecord:
    """A greedy run, then <eos> forced where the Workspace's chart offers it last."""
    result = generate(engine, engine.tokenize_prompt(GREEDY_PROMPT), GREEDY)
    eos = next(i for i in range(engine.n_vocab) if engine.vocab.is_eog(i))
    at = max(i for i, s in enumerate(result.steps) if eos in s.distribution.head_ids[:50].tolist())
    step = result.steps[at]
    logit = float(step.distribution.head_logits[step.distribution.head_ids.tolist().index(eos)])
    # As the engine worker does for a forced token: the vocabulary says it ends the text.
    forced = replace(
        step.forcing(eos, engine.vocab.piece(eos), logit),
        ends_generation=engine.vocab.is_eog(eos),
    )
    steps = [*result.steps[:at], forced]
    return RunRecord(
        prompt=GREEDY_PROMPT,
        settings=GREEDY,
        steps=steps,
        stop_reason="eog",
        pieces=pieces_of(engine.vocab, steps),
    )


def record_sampled(engine: Engine) -> RunRecord:
    result = generate(engine, engine.tokenize_prompt(SAMPLED_PROMPT), SAMPLED)
    return RunRecord(
        prompt=SAMPLED_PROMPT,
        settings=SAMPLED,
        steps=result.steps,
        stop_reason=result.stop_reason or "",
        pieces=pieces_of(engine.vocab, result.steps),
    )


def best_path(nodes: list[BeamNode], last: int) -> list[int]:
    """The best hypothesis's node ids from its first token to its last."""
    by_id = {n.node_id: n for n in nodes}
    path: list[int] = []
    while last in by_id:
        path.append(last)
        last = by_id[last].parent
    return path[::-1]


def record_beam(engine: Engine) -> RunRecord:
    result = beam_search(engine, engine.tokenize_prompt(BEAM_PROMPT), BEAM)
    steps = result.best.steps
    pieces = pieces_of(engine.vocab, steps)
    pieces.update({n.token: n.piece for n in result.nodes})
    return RunRecord(
        prompt=BEAM_PROMPT,
        settings=BEAM,
        steps=steps,
        stop_reason=result.stop_reason,
        beam_nodes=result.nodes,
        beam_path=best_path(result.nodes, result.best.last_node),
        pieces=pieces,
    )


def save_gzipped(name: str, record: RunRecord, model: Path, sha256: str) -> None:
    with tempfile.TemporaryDirectory() as folder:
        plain = Path(folder) / "session.json"
        save_session(plain, record, model.name, sha256, SessionView())
        data = plain.read_bytes()
    # No timings and mtime=0: recording the same runs again gives the same bytes.
    (HERE / name).write_bytes(gzip.compress(data, compresslevel=9, mtime=0))
    print(f"{name}: {len(record.steps)} steps, {len((HERE / name).read_bytes()):,} bytes")


def tokenized(vocab: Vocabulary, text: str) -> dict[str, object]:
    """One text as the tokenizer worker reports it: tokens (with BOS) and split characters."""
    infos = vocab.token_infos(text, add_bos=True)
    return {
        "text": text,
        "tokens": [
            {
                "id": t.id,
                "piece": t.piece.hex(),
                "vocab_text": t.vocab_text,
                "kind": t.kind,
                "start": t.start,
                "end": t.end,
            }
            for t in infos
        ],
        "split": [
            {"char": s.char, "start": s.start, "end": s.end, "tokens": list(s.tokens)}
            for s in split_characters(text, infos)
        ],
    }


def main() -> None:
    # The assembled default model is shared with the test runs (see tests/conftest.py).
    os.environ.setdefault(
        "LLM_PLAYGROUND_DATA_DIR", str(Path(tempfile.gettempdir()) / "llm-playground-test-data")
    )
    model = default_model_path()
    sha256 = cached_sha256(model)
    with Engine(model, EngineConfig(n_ctx=512)) as engine:
        save_gzipped("greedy.session.json.gz", record_greedy(engine), model, sha256)
        save_gzipped("sampled.session.json.gz", record_sampled(engine), model, sha256)
        save_gzipped("beam.session.json.gz", record_beam(engine), model, sha256)
        document = {
            "model": {"file": model.name, "sha256": sha256},
            "texts": [tokenized(engine.vocab, text) for text in TOKENIZED_TEXTS],
        }
    (HERE / "tokens.json").write_text(
        json.dumps(document, ensure_ascii=False, indent=1) + "\n", encoding="utf-8"
    )
    print("tokens.json:", ", ".join(repr(t) for t in TOKENIZED_TEXTS))


if __name__ == "__main__":
    main()
