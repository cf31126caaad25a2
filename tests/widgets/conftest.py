"""Recorded steps for the widget tests: real runs of the default model, replayed from
tests/data/recorded, so the widgets are tested without loading any model."""

from __future__ import annotations

from typing import NoReturn

import pytest
from recorded_steps import (
    SESSIONS,
    TokenizedSample,
    load_recorded_session,
    load_tokenized_samples,
)

from app.core.llama.engine import Engine
from app.core.llama.vocabulary import VocabularyFile
from app.core.runs.run_record import RunRecord
from app.core.runs.session_file import Session


@pytest.fixture(scope="session")
def recorded_sessions(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Session]:
    scratch = tmp_path_factory.mktemp("recorded")
    return {name: load_recorded_session(name, scratch) for name in SESSIONS}


@pytest.fixture(scope="session")
def greedy_run(recorded_sessions: dict[str, Session]) -> RunRecord:
    """22 greedy steps after a question; the user forced <eos> at the last one."""
    return recorded_sessions["greedy"].record


@pytest.fixture(scope="session")
def sampled_run(recorded_sessions: dict[str, Session]) -> RunRecord:
    """24 steps sampled at T = 0.8, top-k 40, top-p 0.95, min-p 0.05."""
    return recorded_sessions["sampled"].record


@pytest.fixture(scope="session")
def beam_run(recorded_sessions: dict[str, Session]) -> RunRecord:
    """Beam search of width 3 over 8 steps, with its tree and the best beam's path."""
    return recorded_sessions["beam"].record


@pytest.fixture(scope="session")
def tokenized_samples() -> list[TokenizedSample]:
    """English (a double space, a newline), emoji (one a token, one four bytes), German."""
    return load_tokenized_samples()


def _no_model(*_args: object, **_kwargs: object) -> NoReturn:
    raise AssertionError("the widget tests replay recorded steps and never load a model")


@pytest.fixture(autouse=True)
def no_model_loads(monkeypatch: pytest.MonkeyPatch) -> None:
    """Loading a model or a vocabulary fails any test here."""
    monkeypatch.setattr(Engine, "__init__", _no_model)
    monkeypatch.setattr(VocabularyFile, "__init__", _no_model)
