"""Build the one C extension, a speed-up, and ship the data files inside the package
(everything else is in pyproject.toml)."""

import shutil
import sys
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
COMPILE_ARGS = [] if sys.platform == "win32" else ["-O3"]
LINK_ARGS: list[str] = []
# Linux: llama.cpp's CPU backend runs on GCC's OpenMP (libgomp); the histogram joins the
# same thread team (see _logit_histogram.c). Elsewhere it runs on one thread.
if sys.platform.startswith("linux"):
    COMPILE_ARGS.append("-fopenmp")
    LINK_ARGS.append("-fopenmp")

# The checkout's top-level folders stay the source of the icons, the desktop entry
# template, the reference tokenizers and the course's catalog; a wheel carries copies
# under app/_data/, where app.core.paths.install_root finds them with importlib.resources.
SHIPPED = {"resources": "resources", "models/catalog.toml": "models/catalog.toml"}


class BuildWithData(build_py):
    def run(self) -> None:
        super().run()
        if getattr(self, "editable_mode", False):
            return  # an editable install reads the checkout's own folders
        target = Path(self.build_lib) / "app" / "_data"
        for source, inside in SHIPPED.items():
            origin, destination = ROOT / source, target / inside
            destination.parent.mkdir(parents=True, exist_ok=True)
            if origin.is_dir():
                shutil.copytree(origin, destination, dirs_exist_ok=True)
            else:
                shutil.copy2(origin, destination)


setup(
    cmdclass={"build_py": BuildWithData},
    ext_modules=[
        Extension(
            "app.core.decoding._logit_histogram",
            ["app/core/decoding/_logit_histogram.c"],
            extra_compile_args=COMPILE_ARGS,
            extra_link_args=LINK_ARGS,
            libraries=[] if sys.platform == "win32" else ["m"],
            optional=True,  # step_distribution and logit_analysis fall back to numpy (slower)
        )
    ],
)
