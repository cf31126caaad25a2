"""`llm-playground models search|files|download|list`: the Models tab, headless."""

from __future__ import annotations

import argparse
import sys
import threading
from typing import Any

from app.core.errors import PlaygroundError
from app.core.gguf.quant_files import QuantGroup, group_files
from app.core.units import format_bytes, printable


def _client() -> Any:
    from app.core.hub.hub_client import HubClient

    return HubClient()


def search(args: argparse.Namespace) -> dict[str, Any]:
    if args.limit < 1:
        raise PlaygroundError(f"--limit must be at least 1, got {args.limit}")
    found = _client().search(args.text, args.sort, args.limit)
    rows = [
        {
            "repo_id": m.repo_id,
            "author": m.author,
            "downloads": m.downloads,
            "likes": m.likes,
            "last_modified": m.last_modified.isoformat() if m.last_modified else None,
            "gated": m.gated,
        }
        for m in found
    ]
    if not args.json:
        if not found:
            what = f"“{printable(args.text)}”" if args.text else "that search"
            sys.stdout.write(f"No GGUF repositories on the Hub match {what}.\n")
        for m in found:
            updated = m.last_modified.date().isoformat() if m.last_modified else "?"
            gated = "  (gated)" if m.gated else ""
            sys.stdout.write(
                f"{printable(m.repo_id):<56} {m.downloads:>10,} ↓ {m.likes:>6,} ♥  "
                f"{updated}{gated}\n"
            )
    return {"models": rows}


def _group_json(group: QuantGroup, recommended: bool) -> dict[str, Any]:
    return {
        "quant": group.quant,
        "label": group.label,
        "size": group.size,
        "files": [f.path for f in group.files],
        "complete": group.complete,
        "recommended": recommended,
    }


def _repo_id(text: str) -> str:
    """A Hub repository id is owner/name; say so before asking the Hub about "acme"."""
    owner, slash, name = text.strip().partition("/")
    if not slash or not owner or not name or "/" in name:
        raise PlaygroundError(
            f"“{printable(text)}” is not a repository id: write owner/name, for example "
            "unsloth/gemma-3-270m-it-GGUF (models search finds them)"
        )
    return text.strip()


def files(args: argparse.Namespace) -> dict[str, Any]:
    details = _client().repo(_repo_id(args.repo), args.revision)
    groups = group_files(details.files)
    if not args.json:
        if not groups:
            sys.stdout.write(f"{printable(details.repo_id)} has no GGUF files\n")
        for index, group in enumerate(groups):
            mark = "★" if index == 0 else " "
            size = format_bytes(group.size)
            sys.stdout.write(f"{mark} {group.quant:<10} {size:>10}  {printable(group.label)}\n")
            for file in group.files:  # the whole path in the repository, for --file
                sys.stdout.write(f"{'':<24}{printable(file.path)}\n")
    return {
        "repo_id": details.repo_id,
        "commit": details.commit,
        "license": details.license,
        "gated": details.gated,
        "groups": [_group_json(g, i == 0) for i, g in enumerate(groups)],
    }


def _pick(groups: list[QuantGroup], args: argparse.Namespace, repo: str) -> QuantGroup:
    if not groups:
        raise PlaygroundError(f"{printable(repo)} has no GGUF files")
    if args.file:
        for group in groups:
            if any(f.path == args.file for f in group.files):
                return group
        raise PlaygroundError(f"{printable(repo)} has no GGUF file “{printable(args.file)}”")
    if args.quant:
        wanted = args.quant.upper()
        for group in groups:
            if group.quant == wanted:
                return group
        have = ", ".join(sorted({g.quant for g in groups}))
        raise PlaygroundError(f"{printable(repo)} has no {printable(wanted)} file (it has {have})")
    return groups[0]


def download(args: argparse.Namespace) -> dict[str, Any]:
    from app.core import paths
    from app.core.hub.downloader import DownloadCancelled, Downloader, DownloadProgress

    client = _client()
    details = client.repo(_repo_id(args.repo), args.revision)
    group = _pick(group_files(details.files), args, details.repo_id)
    cancel = threading.Event()
    tty = sys.stderr.isatty()
    bars: dict[str, Any] = {}

    def progress(p: DownloadProgress) -> None:
        """A tqdm bar per file on a terminal; nothing when stderr is a pipe or a file.
        What the Hub answered while retrying is said either way."""
        from tqdm import tqdm

        if p.note is not None:
            line = f"llm-playground: {printable(p.file)}: {p.note}"
            if tty:
                tqdm.write(line, file=sys.stderr)
            else:
                sys.stderr.write(line + "\n")
            return
        if not tty:
            return

        bar = bars.get(p.file)
        if bar is None:
            for other in bars.values():
                other.close()
            bar = bars[p.file] = tqdm(
                total=p.total,
                desc=printable(p.file),
                unit="B",
                unit_scale=True,
                unit_divisor=1024,
                file=sys.stderr,
                dynamic_ncols=True,
            )
        bar.update(p.done - bar.n)

    downloader = Downloader(client, paths.models_dir(), into_hf_cache=args.hf_cache)
    try:
        paths_done = downloader.download_group(
            details.repo_id, group, details.commit, progress, cancel
        )
    except KeyboardInterrupt:
        cancel.set()
        raise DownloadCancelled(
            "download interrupted; run the same command again to resume it"
        ) from None
    finally:
        for bar in bars.values():
            bar.close()
    if not args.json:
        sys.stdout.write(f"{paths_done[0]}\n")
    return {
        "repo_id": details.repo_id,
        "quant": group.quant,
        "path": str(paths_done[0]),
        "files": [str(p) for p in paths_done],
        "size": group.size,
    }


def listing(args: argparse.Namespace) -> dict[str, Any]:
    from app.core.library.library import SOURCE_LABELS, Library

    entries = Library().entries()
    if not args.json:
        for e in entries:
            size = format_bytes(e.size)
            sys.stdout.write(
                f"{printable(e.name):<36} {e.quantization:<8} {printable(e.architecture):<10} "
                f"{size:>10}  {SOURCE_LABELS[e.source]:<18} {printable(str(e.path))}\n"
            )
    return {
        "models": [
            {
                "path": str(e.path),
                "name": e.name,
                "source": e.source,
                "repo_id": e.repo_id,
                "size": e.size,
                "quantization": e.quantization,
                "architecture": e.architecture,
                "error": e.error,
            }
            for e in entries
        ]
    }
