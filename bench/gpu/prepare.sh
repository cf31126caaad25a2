#!/bin/bash
# With network, from the repository root: .gpu/ for bench/gpu/run_gpu_checks.sh, i.e.
# the shared CUDA recipe's folder (trimmed llama-cpp-python source, Llama 3 vocab, the
# random-model writer) plus wheels of the app's pure dependencies for the core tests.
# PYVER is the GPU machine's Python (default: this one's, e.g. 3.11).
set -euo pipefail
PYVER=${PYVER:-$(python3 -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')}
bash ../shared/gpu/prepare.sh "" .gpu
mkdir -p .gpu/wheels
python3 -m pip download -q --only-binary=:all: --python-version "$PYVER" --platform manylinux2014_x86_64 \
  --platform manylinux_2_17_x86_64 --platform manylinux_2_28_x86_64 -d .gpu/wheels \
  numpy jinja2 markupsafe platformdirs regex psutil diskcache pyyaml pytest pluggy iniconfig \
  packaging pytest-timeout
grep -qx '/.gpu/' .git/info/exclude 2>/dev/null || echo '/.gpu/' >> .git/info/exclude
du -sh .gpu
