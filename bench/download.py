"""Download throughput: the app's resumable, verified downloader against `hf_hub_download`.

Both fetch the same file from the fake Hub on 127.0.0.1 (a real HTTP server, see
tests/fakehub), alternating, several rounds; the downloader also hashes every byte
(sha256) as it arrives. Prints MB/s for each and the ratio (target >= 0.9).

Usage: python bench/download.py [--rounds 3] [--file PATH (default: the bundled model)]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from fakehub.server import FakeFile, FakeHub, FakeRepo

from app.core.hub.downloader import Downloader
from app.core.hub.hub_client import HubClient

REPO = "bench/Model-GGUF"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--file", type=Path, default=None)
    args = parser.parse_args()
    if args.file is None:
        from app.core.library.default_model import default_model_path

        args.file = default_model_path()
    name = "model-Q4_K_M.gguf"
    served = FakeFile(disk=args.file)
    size = served.size
    served.sha256  # noqa: B018  (hash once up front, outside the timings)
    ours: list[float] = []
    theirs: list[float] = []
    with FakeHub() as hub, tempfile.TemporaryDirectory() as tmp:
        hub.add_repo(FakeRepo(REPO, {name: served}))
        client = HubClient(hub.endpoint, token=False)
        details = client.repo(REPO)
        (file,) = details.files
        from huggingface_hub import hf_hub_download

        for round_ in range(args.rounds):
            target = Path(tmp) / f"ours-{round_}"
            start = time.perf_counter()
            Downloader(client, target).download(REPO, file, details.commit)
            ours.append(size / (time.perf_counter() - start) / 1e6)
            shutil.rmtree(target)

            cache = Path(tmp) / f"hub-{round_}"
            start = time.perf_counter()
            hf_hub_download(REPO, name, endpoint=hub.endpoint, cache_dir=cache, token=False)
            theirs.append(size / (time.perf_counter() - start) / 1e6)
            shutil.rmtree(cache)
    a, b = statistics.median(ours), statistics.median(theirs)
    print(f"file: {args.file.name}, {size / 1e6:.1f} MB, {args.rounds} rounds, from 127.0.0.1")
    print(f"  app downloader (Range-resumable, sha256 while writing): {a:7.1f} MB/s")
    print(f"  huggingface_hub hf_hub_download:                        {b:7.1f} MB/s")
    print(f"  ratio app / hf_hub_download = {a / b:.3f}  (target >= 0.9)")


if __name__ == "__main__":
    main()
