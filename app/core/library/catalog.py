"""The course's curated models (models/catalog.toml): repo ids, files, licenses and why."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

from app.core import paths
from app.core.errors import PlaygroundError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

KINDS = ("base", "instruct", "coder", "math")


@dataclass(frozen=True)
class CatalogEntry:
    repo: str
    file: str
    license: str
    kind: str
    why: str
    pair: str = ""


def catalog_path() -> Path:
    """models/catalog.toml, shipped with the package (see paths.install_root)."""
    return paths.catalog_file()


def load_catalog(path: Path | None = None) -> list[CatalogEntry]:
    path = path or catalog_path()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise PlaygroundError(f"{path}: cannot read the model catalog: {exc.strerror}") from exc
    except tomllib.TOMLDecodeError as exc:
        raise PlaygroundError(f"{path}: the model catalog is not valid TOML: {exc}") from exc
    entries = []
    for number, item in enumerate(data.get("model", []), start=1):
        missing = [k for k in ("repo", "file", "license", "kind", "why") if not item.get(k)]
        if missing:
            raise PlaygroundError(f"{path}: model {number} lacks {', '.join(missing)}")
        if item["kind"] not in KINDS:
            raise PlaygroundError(f"{path}: model {number} has unknown kind {item['kind']!r}")
        entries.append(
            CatalogEntry(
                repo=str(item["repo"]),
                file=str(item["file"]),
                license=str(item["license"]),
                kind=str(item["kind"]),
                why=str(item["why"]),
                pair=str(item.get("pair", "")),
            )
        )
    return entries
