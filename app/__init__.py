"""LLM Playground."""

# llama.cpp's native libraries must be loaded before numpy's: with a CUDA build, loading a
# model segfaulted whenever numpy had been imported first (H100, llama-cpp-python 0.3.36,
# numpy 2.5). Importing this package loads them first, unless the caller already
# imported numpy. Everything else about llama_cpp stays in app.core.llama.llama_runtime.
import contextlib as _contextlib
import os as _os

# numpy's BLAS would start its own threads for a large dot product; they spin while
# llama.cpp's threads decode and halve the decode speed on a small machine. The app's
# numpy work is small vector arithmetic: one thread is right.
for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    _os.environ.setdefault(_name, "1")

with _contextlib.suppress(ImportError):  # a missing library is reported on first use
    import llama_cpp as _llama_cpp  # noqa: F401
