"""Build resources/icons/llm-playground.ico (Windows) and .icns (macOS) from the PNG sizes.

The PNGs are rendered from the SVG master (llm-playground.svg). Run after changing them:
    .venv/bin/python packaging/make_icons.py      (needs Pillow: pip install -e ".[bundle]")
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image

ICONS = Path(__file__).resolve().parents[1] / "resources" / "icons"


def main() -> None:
    largest = Image.open(ICONS / "llm-playground-512.png").convert("RGBA")
    ico_sizes = [(s, s) for s in (16, 24, 32, 48, 64, 128, 256)]
    largest.save(ICONS / "llm-playground.ico", sizes=ico_sizes)
    largest.save(ICONS / "llm-playground.icns")
    for name in ("llm-playground.ico", "llm-playground.icns"):
        print(f"{ICONS / name}: {(ICONS / name).stat().st_size:,} bytes")


if __name__ == "__main__":
    main()
