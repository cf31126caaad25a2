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
# The Hub client's cache and token store: never the user's own.
os.environ["HF_HOME"] = tempfile.mkdtemp(prefix="llm-playground-test-hf-")
os.environ.pop("HF_TOKEN", None)
os.environ.pop("HF_HUB_CACHE", None)
# llama.cpp's own download folder, which the library lists too.
os.environ["LLAMA_CACHE"] = tempfile.mkdtemp(prefix="llm-playground-test-llama-cache-")

from fakehub.gguf_files import tiny_gguf
from fakehub.server import FakeFile, FakeHub, FakeRepo
from gguf import LlamaFileType

from app.core.library.default_model import default_model_path
from app.core.library.model_terms import accept_terms
from app.core.llama.engine import Engine
from app.core.llama.engine_config import EngineConfig

# The bundled model's terms, which a user accepts at the first start (tests/ui/
# test_model_terms.py asks them in a folder of its own).
accept_terms()

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


CHAT_TEMPLATE = (
    "{{ bos_token }}{% for m in messages %}<start_of_turn>"
    "{{ 'model' if m['role'] == 'assistant' else m['role'] }}\n{{ m['content'] | trim }}"
    "<end_of_turn>\n{% endfor %}{% if add_generation_prompt %}<start_of_turn>model\n{% endif %}"
)


@pytest.fixture(scope="session")
def chat_model_path(model_path: Path) -> Path:
    """The default model with a chat template added to its metadata (the default model is
    a base model and has none): a real GGUF for the chat-template paths."""
    import hashlib
    import subprocess
    import sys

    digest = hashlib.sha256(CHAT_TEMPLATE.encode()).hexdigest()[:12]
    target = Path(os.environ["LLM_PLAYGROUND_DATA_DIR"]) / f"chat-template-{digest}.gguf"
    if not target.exists():
        partial = target.with_suffix(".part")
        subprocess.run(
            [
                str(Path(sys.executable).with_name("gguf-new-metadata")),
                str(model_path),
                str(partial),
                "--chat-template",
                CHAT_TEMPLATE,
                "--force",
            ],
            check=True,
            capture_output=True,
        )
        partial.replace(target)
    return target


BPE_VOCABS = ("llama-bpe", "gpt-2", "qwen2")
# What the tests take from llama-cpp-python's source distribution: its llama.cpp's
# vocabulary-only GGUFs with their test texts, and the two sources the tokenizer tables
# are written from.
SOURCE_FILES = ("src/llama-vocab.cpp", "src/unicode-data.cpp")


@pytest.fixture(scope="session")
def llama_cpp_source() -> Path:
    """The parts of the pinned bindings' llama.cpp source the tokenizer tests use
    (models/ggml-vocab-*.gguf, .inp, .out and src/...), fetched once with pip and kept
    in the test data directory."""
    import importlib.metadata
    import subprocess
    import sys
    import tarfile

    version = importlib.metadata.version("llama-cpp-python")
    target = Path(os.environ["LLM_PLAYGROUND_DATA_DIR"]) / f"llama.cpp-{version}"
    done = target / ".complete"
    if done.exists():
        return target
    download = target / "sdist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--quiet",
            "--no-deps",
            "--no-binary",
            ":all:",
            f"llama-cpp-python=={version}",
            "-d",
            str(download),
        ],
        check=True,
    )
    archive = next(download.glob("llama_cpp_python-*.tar.gz"))
    with tarfile.open(archive) as tar:
        for member in tar.getmembers():
            inside = member.name.partition("/vendor/llama.cpp/")[2]
            wanted = inside in SOURCE_FILES or (
                inside.startswith("models/ggml-vocab-") and inside.count("/") == 1
            )
            if wanted and member.isfile():
                source = tar.extractfile(member)
                assert source is not None
                (target / inside).parent.mkdir(parents=True, exist_ok=True)
                (target / inside).write_bytes(source.read())
    archive.unlink()
    done.touch()
    return target


@pytest.fixture(scope="session")
def vocab_only_paths(llama_cpp_source: Path) -> dict[str, Path]:
    """Every vocabulary-only GGUF of the bindings' llama.cpp, by name (gpt-2, falcon, …)."""
    return {
        path.name.removeprefix("ggml-vocab-").removesuffix(".gguf"): path
        for path in sorted((llama_cpp_source / "models").glob("ggml-vocab-*.gguf"))
    }


@pytest.fixture(scope="session")
def bpe_vocab_paths(vocab_only_paths: dict[str, Path]) -> dict[str, Path]:
    """Real BPE vocabularies (Llama 3, GPT-2, Qwen2)."""
    return {name: vocab_only_paths[name] for name in BPE_VOCABS}


@pytest.fixture
def fake_hub() -> Iterator[FakeHub]:
    """A Hub on 127.0.0.1 with two small real GGUF repositories and one gated."""
    with FakeHub() as hub:
        hub.add_repo(
            FakeRepo(
                "acme/Tiny-GGUF",
                {
                    "tiny-Q4_K_M.gguf": FakeFile(tiny_gguf("Tiny", pad_to=3_000_000)),
                    "tiny-Q8_0.gguf": FakeFile(
                        tiny_gguf("Tiny", LlamaFileType.MOSTLY_Q8_0, seed=1, pad_to=6_000_000)
                    ),
                    "split/tiny-F16-00001-of-00002.gguf": FakeFile(tiny_gguf(seed=2)),
                    "split/tiny-F16-00002-of-00002.gguf": FakeFile(tiny_gguf(seed=3)),
                    "README.md": FakeFile(b"# Tiny\n", lfs=False),
                },
                downloads=1200,
                likes=7,
                last_modified="2026-03-01T10:00:00.000Z",
            )
        )
        hub.add_repo(
            FakeRepo(
                "acme/Popular-GGUF",
                {"popular-Q4_0.gguf": FakeFile(tiny_gguf("Popular", LlamaFileType.MOSTLY_Q4_0))},
                downloads=90000,
                likes=3,
                last_modified="2025-06-01T10:00:00.000Z",
            )
        )
        hub.add_repo(
            FakeRepo(
                "acme/Gated-GGUF",
                {"gated-Q4_K_M.gguf": FakeFile(tiny_gguf("Gated", seed=4))},
                gated=True,
                license="other",
                downloads=10,
                likes=99,
                last_modified="2026-05-01T10:00:00.000Z",
            )
        )
        yield hub


@pytest.fixture
def hf_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """huggingface_hub's token store in a temporary folder (never the user's own)."""
    from huggingface_hub import constants

    home = tmp_path / "hf-home"
    home.mkdir()
    monkeypatch.setattr(constants, "HF_TOKEN_PATH", str(home / "token"))
    monkeypatch.setattr(constants, "HF_STORED_TOKENS_PATH", str(home / "stored_tokens"))
    monkeypatch.delenv("HF_TOKEN", raising=False)
    return home
