"""Build the one C extension, a speed-up (everything else is in pyproject.toml)."""

import sys

from setuptools import Extension, setup

COMPILE_ARGS = [] if sys.platform == "win32" else ["-O3"]

setup(
    ext_modules=[
        Extension(
            "app.core._logit_histogram",
            ["app/core/_logit_histogram.c"],
            extra_compile_args=COMPILE_ARGS,
            libraries=[] if sys.platform == "win32" else ["m"],
            optional=True,  # app.core.distribution falls back to numpy (slower)
        )
    ]
)
