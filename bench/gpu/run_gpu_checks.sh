#!/bin/bash
# The app's CUDA path, on a GPU machine without network (see ../../../shared/gpu/README.md
# for the recipe this builds on). From the repository root, with .gpu/ prepared here by
# `bash bench/gpu/prepare.sh` (network needed once):
#     bash bench/gpu/run_gpu_checks.sh            # OUT=/tmp/out, CUDA_ARCH=90 (H100/H200)
# It builds llama-cpp-python with CUDA for one architecture, installs the app's pure
# Python dependencies from the wheels in .gpu/wheels, writes a 1.5B-parameter llama GGUF
# with random weights (the Llama 3 tokenizer), then runs with every layer offloaded:
#   1. bench/decode_overhead.py: engine with full per-token analysis vs a bare decode loop
#      (target: overhead <= 5%, ratio >= 0.95), lockstep and beam costs;
#   2. the engine's model-agnostic tests (greedy = llama.cpp's own, probabilities = a full
#      softmax, sampling = llama.cpp's chain, lockstep, beams) on that build and model.
# Figures go to $OUT/gpu-report.txt; copy them into docs/PERFORMANCE.md with the card name.
set -euo pipefail
DIR=${DIR:-.gpu}; OUT=${OUT:-/tmp/out}; ARCH=${CUDA_ARCH:-90}
export PYTHONUNBUFFERED=1
mkdir -p /tmp/b /tmp/site "$OUT"
report="$OUT/gpu-report.txt"
nvidia-smi -L | tee "$report" || true
tar xzf "$DIR/llama_src.tgz" -C /tmp/b
python3 -m pip install -q --no-index --no-deps --target /tmp/site "$DIR"/wheels/*.whl
src=$(ls -d /tmp/b/llama_cpp_python-*)
t0=$(date +%s)
( cd "$src" && CMAKE_ARGS="-DGGML_CUDA=on -DCMAKE_CUDA_ARCHITECTURES=$ARCH -DLLAVA_BUILD=OFF -DGGML_NATIVE=OFF" \
  CMAKE_BUILD_PARALLEL_LEVEL=$(nproc) python3 -m pip install -q --no-build-isolation --no-deps \
  --no-index --target /tmp/site . ) > "$OUT/build.log" 2>&1 || { tail -40 "$OUT/build.log"; exit 1; }
echo "llama-cpp-python CUDA build: $(( $(date +%s) - t0 )) s" | tee -a "$report"
export PYTHONPATH=/tmp/site:$src/vendor/llama.cpp/gguf-py:$(pwd)
# The app's C extension (the histogram), built in place for this Python.
python3 setup.py -q build_ext --inplace > "$OUT/ext.log" 2>&1 || echo "C extension not built: numpy fallback" | tee -a "$report"
python3 "$DIR/make_random_gguf.py" "$DIR/ggml-vocab-llama-bpe.gguf" /tmp/rand1b.gguf \
  --layers 16 --embd 2048 --ff 8192 --heads 32 --kv-heads 8 --type f16
export LLM_PLAYGROUND_DATA_DIR=/tmp/lp-data
python3 -c "import app; from app.core.llama_runtime import backend_info; print(backend_info().describe())" | tee -a "$report"
python3 bench/decode_overhead.py --model /tmp/rand1b.gguf --tokens 128 --rounds 5 2>&1 \
  | grep -v "^llama\|^load\|^print_info\|^ggml" | tee -a "$report"
rc=0
LLM_PLAYGROUND_TEST_MODEL=/tmp/rand1b.gguf QT_QPA_PLATFORM=offscreen python3 -m pytest -q -p app \
  -p no:cacheprovider tests/core/test_greedy_and_probabilities.py tests/core/test_sampling.py \
  tests/core/test_streams_and_beams.py 2>&1 | tail -15 | tee -a "$report" || rc=$?
exit $rc
