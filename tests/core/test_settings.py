"""The settings file: typed, validated, and a bad one is kept aside, never fatal."""

from __future__ import annotations

import json
from pathlib import Path

from app.core.settings import RuntimeSettings, SettingsStore


def test_round_trip_and_validation(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    store = SettingsStore.load(path)
    assert store.settings == RuntimeSettings() and store.problem is None
    store.save(RuntimeSettings(gpu_layers=-3, flash_attn=False, threads=0, n_ctx=10))
    again = SettingsStore.load(path)
    assert again.settings == RuntimeSettings(None, False, None, 256)
    config = again.settings.engine_config()
    assert (config.n_ctx, config.flash_attn, config.n_gpu_layers) == (256, False, None)
    assert "token" not in path.read_text()


def test_corrupt_and_future_files_are_kept_aside(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    for text, reason in [
        ("{not json", "unusable"),
        (json.dumps({"version": 99, "runtime": {}}), "version 99"),
        (json.dumps({"version": 1, "runtime": {"n_ctx": "big"}}), "n_ctx must be"),
    ]:
        path.write_text(text, encoding="utf-8")
        store = SettingsStore.load(path)
        assert store.settings == RuntimeSettings()
        assert store.problem is not None and reason in store.problem
        assert (tmp_path / "settings.json.bad").read_text(encoding="utf-8") == text
        assert not path.exists()
