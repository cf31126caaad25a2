"""The tokenizer replay on a 1,000-character text, for every vocabulary-only GGUF of the
pinned llama.cpp: the replay's time beside llama.cpp's own tokenization of the same text
(the replay runs on the tokenizer thread; it should answer within a second).

Target: every vocabulary replays 1,000 characters in under 1 s.

Usage: python bench/replay.py [--rounds 3]
(the vocabularies come from the test data folder; the first run fetches them through the
test suite's fixture)
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import app  # noqa: F401  (loads llama.cpp's libraries first)
from app.core.llama.vocabulary import load_vocabulary
from app.core.tokenizer.bpe_replay import replay
from app.core.tokenizer.tokenizer_model import load_tokenizer_model

ROOT = Path(__file__).resolve().parents[1]
TEXT_PARTS = [
    "Byte pair encoding (also known as digram coding) is an algorithm, first described in "
    "1994 by Philip Gage. ",
    "def fib(n):\n\treturn n if n < 2 else fib(n - 1) + fib(n - 2)\n",
    "Numbers: 3.14159, 1,000,000 and 12345678901234567890. ",
    "Größenwahn über Straßenbahnhaltestellen, naïve café. ",
    "大型语言模型会逐个生成词元。",
    "مرحبا بالعالم، كيف حالك؟ ",
    "Emoji 😀👍🏽 🇩🇪 👨‍👩‍👧   spaces\n\n\n",
]


def thousand_characters() -> str:
    text = ""
    while len(text) < 1000:
        text += "".join(TEXT_PARTS)
    return text[:1000]


def vocabularies() -> dict[str, Path]:
    version = importlib.metadata.version("llama-cpp-python")
    data = Path(
        os.environ.get(
            "LLM_PLAYGROUND_DATA_DIR", str(Path(tempfile.gettempdir()) / "llm-playground-test-data")
        )
    )
    models = data / f"llama.cpp-{version}" / "models"
    if not models.is_dir():
        # The test suite's fixture fetches them (pip download of the pinned source).
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-q",
                "tests/core/test_bpe_replay.py",
                "-k",
                "covered",
            ],
            cwd=ROOT,
            check=True,
        )
    return {
        p.name.removeprefix("ggml-vocab-").removesuffix(".gguf"): p
        for p in sorted(models.glob("ggml-vocab-*.gguf"))
    }


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    text = thousand_characters()
    header = f"{'vocabulary':16} {'kind':9} {'steps':>6} {'replay ms':>10} {'llama.cpp ms':>13}"
    print(f"{header} {'ratio':>7}")
    slowest = ("", 0.0)
    for name, path in vocabularies().items():
        model = load_tokenizer_model(path)
        replay(model, "warm up")  # tables a replay builds once per model
        times = []
        result = None
        for _ in range(args.rounds):
            start = time.perf_counter()
            result = replay(model, text)
            times.append(time.perf_counter() - start)
        assert result is not None
        with load_vocabulary(path) as vocab:
            reference = []
            for _ in range(args.rounds):
                start = time.perf_counter()
                tokens = vocab.tokenize(text, add_bos=False)
                reference.append(time.perf_counter() - start)
            assert tokens == result.tokens, name
        ms = statistics.median(times) * 1000
        ref_ms = statistics.median(reference) * 1000
        print(
            f"{name:16} {result.kind:9} {len(result.steps):>6} {ms:>10.1f} {ref_ms:>13.2f}"
            f" {ms / ref_ms:>7.0f}×"
        )
        if ms > slowest[1]:
            slowest = (name, ms)
    verdict = "met" if slowest[1] < 1000 else "MISSED"
    print(
        f"slowest: {slowest[0]} {slowest[1]:.0f} ms for 1,000 characters (target < 1 s: {verdict})"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
