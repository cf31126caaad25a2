#!/bin/sh
# Build llama.cpp's llama-server and ggml-rpc-server from the source distribution of the
# llama-cpp-python version installed in the venv, so the server speaks the protocol and
# computes the numbers of the bindings the app runs (same llama.cpp commit, same kernels).
# The binaries are cached per version and CMAKE_ARGS (CUDA, Metal: the same flags as for
# the bindings); a later call prints the cached folder at once.
#
# usage: sh packaging/build_llama_server.sh PYTHON
# prints the folder holding llama-server and ggml-rpc-server on its last line.
set -eu
PYTHON=${1:-.venv/bin/python}
VERSION=$("$PYTHON" -c 'import importlib.metadata as m; print(m.version("llama_cpp_python"))')
FLAGS_ID=$(printf '%s' "${CMAKE_ARGS:-}" | cksum | cut -d' ' -f1)
CACHE=${LLM_PLAYGROUND_SERVER_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/llm-playground}
TARGET="$CACHE/llama-server-$VERSION-$FLAGS_ID"
if [ -x "$TARGET/llama-server" ] && [ -x "$TARGET/ggml-rpc-server" ]; then
    echo "$TARGET"
    exit 0
fi
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "building llama-server $VERSION (about 7 minutes on 2 cores)..." >&2
"$PYTHON" -m pip download --quiet --no-deps --no-binary :all: \
    "llama-cpp-python==$VERSION" -d "$WORK" >&2
tar -xzf "$WORK"/llama_cpp_python-*.tar.gz -C "$WORK"
SOURCE=$(echo "$WORK"/llama_cpp_python-*/vendor/llama.cpp)
# shellcheck disable=SC2086  # CMAKE_ARGS holds several flags
cmake -S "$SOURCE" -B "$WORK/build" -DCMAKE_BUILD_TYPE=Release \
    -DLLAMA_BUILD_SERVER=ON -DLLAMA_BUILD_TOOLS=ON -DLLAMA_BUILD_TESTS=OFF \
    -DLLAMA_BUILD_EXAMPLES=OFF -DGGML_RPC=ON -DLLAMA_CURL=OFF -DBUILD_SHARED_LIBS=OFF \
    ${CMAKE_ARGS:-} >&2
cmake --build "$WORK/build" --config Release -j "$(nproc 2>/dev/null || echo 2)" \
    --target llama-server ggml-rpc-server >&2
mkdir -p "$CACHE"
rm -rf "$TARGET.partial"
mkdir -p "$TARGET.partial"
cp "$WORK/build/bin/llama-server" "$WORK/build/bin/ggml-rpc-server" "$TARGET.partial/"
rm -rf "$TARGET"
mv "$TARGET.partial" "$TARGET"
echo "$TARGET"
