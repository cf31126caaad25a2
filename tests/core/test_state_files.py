"""The app's own state files, damaged (100,000 levels of nested JSON, bytes that are not
UTF-8): set aside as .bad, rebuilt, and the command goes on."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from app.core.settings import SettingsStore
from app.core.state_file import read_state

NESTED = "[" * 100_000 + "]" * 100_000


def test_read_state_sets_a_nested_document_aside(tmp_path: Path) -> None:
    path = tmp_path / "cache.json"
    path.write_text(NESTED)
    assert read_state(path) is None
    assert not path.exists()
    assert (tmp_path / "cache.json.bad").read_text() == NESTED
    path.write_bytes(b"\xff\xfe{")
    assert read_state(path) is None
    assert (tmp_path / "cache.json.bad").read_bytes() == b"\xff\xfe{"
    path.write_text(json.dumps({"ok": 1}))
    assert read_state(path) == {"ok": 1}


def test_nested_settings_fall_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_text(NESTED)
    store = SettingsStore.load(path)
    assert store.problem is not None and "nested too deeply" in store.problem
    assert (tmp_path / "settings.json.bad").exists()


@pytest.fixture
def damaged_data_dir(tmp_path: Path, model_path: Path) -> dict[str, str]:
    """A data folder holding the default model, with every state file damaged."""
    data = tmp_path / "data"
    models = data / "models"
    models.mkdir(parents=True)
    target = models / model_path.name
    os.link(model_path, target)
    config = tmp_path / "config"
    config.mkdir()
    (data / "cache").mkdir()
    for path in (
        Path(str(target) + ".verified.json"),
        data / "cache" / "loadable-models.json",
        data / "imported-models.json",
        data / "cache" / "file-hashes.json",
        config / "settings.json",
    ):
        path.write_text(NESTED)
    return {
        **os.environ,
        "LLM_PLAYGROUND_DATA_DIR": str(data),
        "LLM_PLAYGROUND_CONFIG_DIR": str(config),
    }


def test_commands_go_on_past_damaged_state_files(damaged_data_dir: dict[str, str]) -> None:
    data = Path(damaged_data_dir["LLM_PLAYGROUND_DATA_DIR"])
    for args in (
        ["models", "list", "--json"],
        ["generate", "--model", "default", "--prompt", "Hi", "--max-tokens", "2", "--json"],
    ):
        out = subprocess.run(
            [sys.executable, "-m", "app", *args],
            capture_output=True,
            text=True,
            timeout=300,
            env=damaged_data_dir,
        )
        assert out.returncode == 0, out.stderr
        assert "Traceback" not in out.stderr
        json.loads(out.stdout)
    assert (data / "cache" / "loadable-models.json.bad").exists()
    assert (data / "imported-models.json.bad").exists()
    stamps = list((data / "models").glob("*.verified.json"))
    assert stamps and json.loads(stamps[0].read_text())["sha256"]  # rebuilt
    log = (data / "logs" / "llm-playground.log").read_text()
    assert "kept as loadable-models.json.bad and rebuilt" in log


def test_settings_that_are_not_utf8_fall_back_to_defaults(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    path.write_bytes(b'{"version": 1, "runtime": {"n_ctx": \xff}}')
    store = SettingsStore.load(path)
    assert store.problem is not None and "kept as settings.json.bad" in store.problem
    assert (tmp_path / "settings.json.bad").exists() and not path.exists()
