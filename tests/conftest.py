"""Shared fixtures: the real default model, loaded once per test session."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

# Keep test runs out of the user's own data directory, but share the assembled model
# between runs (assembling it takes a few seconds).
os.environ.setdefault(
    "LLM_PLAYGROUND_DATA_DIR", str(Path(tempfile.gettempdir()) / "llm-playground-test-data")
)
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
# Window geometry and recent models (QSettings) go to a fresh directory for each run.
os.environ["XDG_CONFIG_HOME"] = tempfile.mkdtemp(prefix="llm-playground-test-config-")

from app.core.default_model import default_model_path
from app.core.engine import Engine, EngineConfig

PROMPT = "The meaning of life is"


@pytest.fixture(scope="session")
def model_path() -> Path:
    """The default model, or LLM_PLAYGROUND_TEST_MODEL (to run the model-agnostic tests on
    another model and backend, such as a CUDA build)."""
    override = os.environ.get("LLM_PLAYGROUND_TEST_MODEL")
    return Path(override) if override else default_model_path()


@pytest.fixture(scope="session")
def engine(model_path: Path) -> Iterator[Engine]:
    with Engine(model_path, EngineConfig(n_ctx=1024)) as loaded:
        yield loaded


@pytest.fixture(scope="session")
def prompt_ids(engine: Engine) -> list[int]:
    return engine.tokenize_prompt(PROMPT)
