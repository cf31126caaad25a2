#!/bin/sh
# Install llama-cpp-python (the version pyproject.toml pins) built with llama.cpp's RPC
# backend (GGML_RPC=ON, for the RPC workers) plus any CMAKE_ARGS (CUDA, Metal). pip's own
# wheel cache ignores CMAKE_ARGS, so the wheel is built here once per version and flags
# and kept under ~/.cache/llm-playground/wheels; a later call installs it in seconds.
#
# usage: sh packaging/build_bindings.sh PYTHON
set -eu
PYTHON=${1:-.venv/bin/python}
VERSION=$(sed -n 's/.*"llama-cpp-python==\([0-9.]*\)".*/\1/p' pyproject.toml | head -n 1)
ARGS="-DGGML_RPC=ON ${CMAKE_ARGS:-}"
FLAGS_ID=$(printf '%s' "$ARGS" | cksum | cut -d' ' -f1)
CACHE=${LLM_PLAYGROUND_SERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-playground}
WHEELS="$CACHE/wheels/llama-cpp-python-$VERSION-$FLAGS_ID"
if ! ls "$WHEELS"/llama_cpp_python-*.whl >/dev/null 2>&1; then
    echo "building llama-cpp-python $VERSION with $ARGS (5 to 13 minutes on 2 cores)..." >&2
    rm -rf "$WHEELS.partial"
    CMAKE_ARGS="$ARGS" "$PYTHON" -m pip wheel --quiet --no-deps --no-cache-dir \
        --no-binary llama-cpp-python "llama-cpp-python==$VERSION" -w "$WHEELS.partial" >&2
    rm -rf "$WHEELS"
    mv "$WHEELS.partial" "$WHEELS"
fi
# Installed already with the RPC backend: nothing to do.
if "$PYTHON" - "$VERSION" <<'PY' 2>/dev/null
import importlib.metadata
import sys
from pathlib import Path

dist = importlib.metadata.distribution("llama_cpp_python")
assert dist.version == sys.argv[1]
assert any(Path(str(f)).name.startswith("libggml-rpc") for f in dist.files or [])
PY
then
    exit 0
fi
"$PYTHON" -m pip install --quiet --no-deps --force-reinstall "$WHEELS"/llama_cpp_python-*.whl
