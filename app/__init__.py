"""LLM Playground."""

# llama.cpp's native libraries must be loaded before numpy's: with a CUDA build, loading a
# model segfaulted whenever numpy had been imported first (H100, llama-cpp-python 0.3.36,
# numpy 2.5). Importing this package loads them first, unless the caller already
# imported numpy. Everything about llama_cpp stays in app.core.llama.llama_runtime.

import os as _os

# numpy's BLAS would start its own threads for a large dot product; they spin while
# llama.cpp's threads decode and halve the decode speed on a small machine. The app's
# numpy work is small vector arithmetic: one thread is right.
for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_name, "1")

from app.core.llama.llama_runtime import load_native_libraries as _load  # noqa: E402

_load()
