"""The app's settings: a typed JSON file in the platform's config directory.

Only runtime choices live here (GPU layers, flash attention, threads, context size), never
a Hub token (huggingface_hub keeps that). A corrupt or newer-version file is kept aside as
`settings.json.bad` and the defaults are used, with a message for the user.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from typing import Any

from app.core import paths
from app.core.atomic_file import write_atomic
from app.core.errors import PlaygroundError
from app.core.llama.engine_config import EngineConfig
from app.core.state_file import parse_json, set_aside

SETTINGS_VERSION = 1
MIN_CTX = 256
MAX_CTX = 1 << 20


@dataclass(frozen=True)
class RuntimeSettings:
    gpu_layers: int | None = None  # None: every layer when the build can offload
    flash_attn: bool = True
    threads: int | None = None  # None: physical cores
    n_ctx: int = 4096
    repack: bool = True  # llama.cpp's CPU weight repacking (off: RPC workers' numbers)
    rpc_workers: tuple[str, ...] = ()  # "host:port" of RPC workers that hold layers

    def engine_config(self) -> EngineConfig:
        return EngineConfig(
            n_ctx=self.n_ctx,
            n_gpu_layers=self.gpu_layers,
            n_threads=self.threads,
            flash_attn=self.flash_attn,
            repack=self.repack,
            rpc_workers=self.rpc_workers,
        )

    def validated(self) -> RuntimeSettings:
        n_ctx = min(MAX_CTX, max(MIN_CTX, int(self.n_ctx)))
        threads = None if not self.threads or self.threads < 1 else int(self.threads)
        layers = None if self.gpu_layers is None or self.gpu_layers < 0 else int(self.gpu_layers)
        return replace(self, n_ctx=n_ctx, threads=threads, gpu_layers=layers)


def settings_path() -> Path:
    try:
        folder = paths.config_dir()
    except PlaygroundError:  # unusable: SettingsStore.load reports the file it cannot read
        override = os.environ.get("LLM_PLAYGROUND_CONFIG_DIR")
        folder = Path(override) if override else Path.home() / ".config" / "llm-playground"
    return folder / "settings.json"


@dataclass
class SettingsStore:
    path: Path
    settings: RuntimeSettings
    problem: str | None = None  # why the file on disk was not used

    @classmethod
    def load(cls, path: Path | None = None) -> SettingsStore:
        path = path or settings_path()
        try:
            raw = path.read_bytes()
        except FileNotFoundError:
            return cls(path, RuntimeSettings())
        except OSError as exc:
            return cls(path, RuntimeSettings(), f"{path}: cannot read ({exc.strerror})")
        try:
            return cls(path, _parse(parse_json(raw.decode("utf-8"))))
        except (ValueError, TypeError) as exc:  # UnicodeDecodeError is a ValueError too
            backup = set_aside(path, str(exc))
            kept = f"it was kept as {backup.name}" if backup else "it could not be moved aside"
            return cls(
                path,
                RuntimeSettings(),
                f"the settings file was unusable ({exc}); {kept} and the defaults are used",
            )

    def save(self, settings: RuntimeSettings) -> None:
        self.settings = settings.validated()
        runtime = asdict(self.settings)
        runtime["rpc_workers"] = list(self.settings.rpc_workers)
        document = {"version": SETTINGS_VERSION, "runtime": runtime}
        write_atomic(self.path, json.dumps(document, indent=2))


def _parse(document: Any) -> RuntimeSettings:
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    version = document.get("version")
    if version != SETTINGS_VERSION:
        raise ValueError(f"version {version!r}, this app reads {SETTINGS_VERSION}")
    runtime = document.get("runtime", {})
    if not isinstance(runtime, dict):
        raise ValueError("'runtime' is not an object")
    known = {f.name for f in fields(RuntimeSettings)}
    values = {k: v for k, v in runtime.items() if k in known}
    for key in ("gpu_layers", "threads"):
        if values.get(key) is not None and not isinstance(values[key], int):
            raise TypeError(f"{key} must be a whole number or null")
    if "n_ctx" in values and not isinstance(values["n_ctx"], int):
        raise TypeError("n_ctx must be a whole number")
    for key in ("flash_attn", "repack"):
        if key in values and not isinstance(values[key], bool):
            raise TypeError(f"{key} must be true or false")
    workers = values.get("rpc_workers", [])
    if not isinstance(workers, list) or not all(isinstance(w, str) for w in workers):
        raise TypeError("rpc_workers must be a list of host:port texts")
    values["rpc_workers"] = tuple(workers)
    return RuntimeSettings(**values).validated()
