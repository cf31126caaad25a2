"""Entry point of the frozen app (PyInstaller runs this file)."""

import sys

import app  # noqa: F401  (loads llama.cpp's libraries before numpy, as the package does)
from app.__main__ import main

if __name__ == "__main__":
    sys.exit(main())
