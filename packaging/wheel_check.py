"""Build the wheel, install it outside the checkout and run the app's smoke test from there.

The installed package must find its own icons, desktop entry template, catalog and
reference tokenizers (app/_data, read through importlib.resources), not the checkout's
folders; and building must print no deprecation warning.

Usage: python packaging/wheel_check.py   (`make wheel-check`; the dependencies come from
the running environment, the package itself only from the wheel)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECK = """
import sys
from pathlib import Path
import app
from app.core import paths
from app.core.library.catalog import load_catalog
from app.core.tokenizer.reference_tokenizers import available_reference_tokenizers
site = Path(sys.argv[1]).resolve()
where = Path(app.__file__).resolve()
assert where.is_relative_to(site), f"app imported from {where}, not the wheel"
root = paths.install_root().resolve()
assert root.is_relative_to(site), f"data read from {root}, not the wheel"
assert (paths.resources_dir() / "llm-playground.desktop.in").is_file(), "no desktop template"
assert (paths.resources_dir() / "icons" / "llm-playground-256.png").is_file(), "no icons"
assert load_catalog(), "empty catalog"
assert len(available_reference_tokenizers()) == 3, "reference tokenizers missing"
print(f"wheel data found under {root}")
"""


def main() -> int:
    with tempfile.TemporaryDirectory(prefix="llm-playground-wheel-") as tmp:
        folder = Path(tmp)
        build = subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "wheel",
                "--no-deps",
                "-v",
                "-w",
                str(folder / "w"),
                str(ROOT),
            ],
            capture_output=True,
            text=True,
        )
        output = build.stdout + build.stderr
        if build.returncode != 0:
            print(output[-4000:], file=sys.stderr)
            print("wheel_check: the wheel did not build", file=sys.stderr)
            return 1
        warnings = [line for line in output.splitlines() if "deprecat" in line.lower()]
        if warnings:
            print("wheel_check: the build warns:\n" + "\n".join(warnings[:10]), file=sys.stderr)
            return 1
        wheel = next((folder / "w").glob("llm_playground-*.whl"))
        site = folder / "site"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "install",
                "--quiet",
                "--no-deps",
                "--target",
                str(site),
                str(wheel),
            ],
            check=True,
        )
        elsewhere = folder / "elsewhere"
        elsewhere.mkdir()
        env = dict(os.environ, PYTHONPATH=str(site), QT_QPA_PLATFORM="offscreen")
        for variable in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME"):
            env[variable] = str(folder / "home" / variable.lower())
        env["LLM_PLAYGROUND_DATA_DIR"] = str(folder / "data")
        steps = [
            [sys.executable, "-c", CHECK, str(site)],
            [str(site / "bin" / "llm-playground"), "--version"],
            [str(site / "bin" / "llm-playground"), "--smoke-test"],
            # The replay's pre-tokenizer and Unicode tables are package data too.
            [
                str(site / "bin" / "llm-playground"),
                "bpe",
                "--model",
                str(site / "app" / "_data" / "resources" / "tokenizers" / "ggml-vocab-qwen2.gguf"),
                "--text",
                "Größe 42",
            ],
        ]
        for command in steps:
            run = subprocess.run(command, cwd=elsewhere, env=env, capture_output=True, text=True)
            print(run.stdout, end="")
            if run.returncode != 0 or run.stderr:
                print(
                    f"wheel_check: {command[0]} {command[-1]!r} failed (exit "
                    f"{run.returncode}):\n{run.stderr}",
                    file=sys.stderr,
                )
                return 1
    print(f"wheel check passed: {wheel.name} runs outside the checkout")
    return 0


if __name__ == "__main__":
    sys.exit(main())
