"""The recorded data the widget tests replay: small, opened by the app's own session
reader, holding the cases the tests rely on, and never a reason to load a model."""

from __future__ import annotations

from pathlib import Path

import pytest
from recorded_steps import RECORDED, TokenizedSample

from app.core.llama.engine import Engine
from app.core.runs.run_record import RunRecord
from app.core.runs.session_file import Session

# Fixtures that load the model (tests/conftest.py, tests/ui/conftest.py).
MODEL_FIXTURES = {"engine", "model_path", "prompt_ids", "chat_model_path", "workspace"}
WIDGET_TESTS = Path(__file__).resolve().parent


def test_the_recorded_files_stay_small() -> None:
    files = sorted(p for p in RECORDED.iterdir() if p.suffix in (".gz", ".json"))
    assert [p.name for p in files] == [
        "beam.session.json.gz",
        "greedy.session.json.gz",
        "sampled.session.json.gz",
        "tokens.json",
    ]
    assert sum(p.stat().st_size for p in files) < 700_000


def test_the_sessions_hold_the_cases_the_tests_rely_on(
    recorded_sessions: dict[str, Session],
    greedy_run: RunRecord,
    sampled_run: RunRecord,
    beam_run: RunRecord,
) -> None:
    assert {s.model_name for s in recorded_sessions.values()} == {"gemma-3-270m-q4_k_m.gguf"}
    # Greedy, then the user forced the end of the text.
    *chosen, eos = greedy_run.steps
    assert all(s.chosen_by == "greedy" and not s.forced for s in chosen)
    assert eos.forced and eos.ends_generation and greedy_run.stop_reason == "eog"
    assert greedy_run.text() == (
        " The capital of France is Paris.\nQ: What is the capital of France?\nA: Paris"
    )
    # Every sampled step records the draw, and some were not the likeliest token.
    assert len(sampled_run.steps) == 24
    assert all(s.sample is not None and s.chosen_by == "sample" for s in sampled_run.steps)
    assert any(s.rank >= 10 for s in sampled_run.steps)
    # The beam tree: the best path follows the steps; some candidates were pruned.
    assert [beam_run.beam_nodes[i].token for i in beam_run.beam_path] == beam_run.ids
    assert any(not n.kept for n in beam_run.beam_nodes)
    for run in (greedy_run, sampled_run, beam_run):
        assert [s.index for s in run.steps] == list(range(len(run.steps)))
        assert all(s.id in run.pieces for s in run.steps)


def test_the_tokenizations_cover_the_text(tokenized_samples: list[TokenizedSample]) -> None:
    for sample in tokenized_samples:
        assert b"".join(t.piece for t in sample.infos) == sample.text.encode("utf-8")
        assert sample.infos[0].kind == "control" and sample.infos[0].piece == b""
    assert [len(s.split) for s in tokenized_samples] == [0, 1, 0]


def test_no_widget_test_loads_the_model(request: pytest.FixtureRequest) -> None:
    here = [i for i in request.session.items if Path(str(i.path)).parent == WIDGET_TESTS]
    assert request.node in here
    for item in here:
        used = MODEL_FIXTURES & set(getattr(item, "fixturenames", ()))
        assert not used, f"{item.nodeid} uses {sorted(used)}"
    with pytest.raises(AssertionError, match="never load a model"):
        Engine("default")
