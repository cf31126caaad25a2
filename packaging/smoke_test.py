"""Run the frozen app's `--smoke-test` as a user's first start would, and judge it.

A fresh home and data directory (no models yet: the bundled default model must be
assembled and used), no display (offscreen). Passes when the app exits 0, prints its
one-line summary, and writes nothing to stderr.

Usage: python packaging/smoke_test.py [path/to/bundle/llm-playground]
       (default: build/dist/llm-playground/llm-playground, as `make bundle` builds it)
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT / "build" / "dist" / "llm-playground" / "llm-playground"


def main() -> int:
    executable = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT
    if not executable.is_file():
        print(f"smoke_test: no bundle at {executable} (run `make bundle`)", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="llm-playground-smoke-") as tmp:
        home = Path(tmp)
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(home),
            "XDG_DATA_HOME": str(home / "share"),
            "XDG_CONFIG_HOME": str(home / "config"),
            "XDG_CACHE_HOME": str(home / "cache"),
            "XDG_RUNTIME_DIR": str(home / "runtime"),
            "QT_QPA_PLATFORM": "offscreen",
            "LANG": os.environ.get("LANG", "C.UTF-8"),
        }
        (home / "runtime").mkdir(mode=0o700)
        start = time.monotonic()
        result = subprocess.run(
            [str(executable), "--smoke-test"], env=env, capture_output=True, text=True, timeout=600
        )
        seconds = time.monotonic() - start
    print(result.stdout, end="")
    if result.returncode != 0 or result.stderr or "smoke test passed" not in result.stdout:
        print(f"FAILED: exit {result.returncode}, stderr:\n{result.stderr}", file=sys.stderr)
        return 1
    print(f"bundle smoke test passed in {seconds:.1f} s (first start, fresh home)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
