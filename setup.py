"""Build the one C extension, a speed-up (everything else is in pyproject.toml)."""

import sys

from setuptools import Extension, setup

COMPILE_ARGS = [] if sys.platform == "win32" else ["-O3"]
LINK_ARGS: list[str] = []
# Linux: llama.cpp's CPU backend runs on GCC's OpenMP (libgomp); the histogram joins the
# same thread team (see _logit_histogram.c). Elsewhere it runs on one thread.
if sys.platform.startswith("linux"):
    COMPILE_ARGS.append("-fopenmp")
    LINK_ARGS.append("-fopenmp")

setup(
    ext_modules=[
        Extension(
            "app.core.decoding._logit_histogram",
            ["app/core/decoding/_logit_histogram.c"],
            extra_compile_args=COMPILE_ARGS,
            extra_link_args=LINK_ARGS,
            libraries=[] if sys.platform == "win32" else ["m"],
            optional=True,  # step_distribution and logit_analysis fall back to numpy (slower)
        )
    ]
)
