"""Downloads that have not finished, remembered across app restarts.

When a download starts, what it fetches (repository, revision, every shard with its size
and sha256) is written beside the models as `<first file>.download.json`; it is removed
when the download completes or is discarded. At the next start the app lists these as
paused downloads that resume from the bytes already on disk.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from app.core.atomic_file import write_atomic
from app.core.gguf.quant_files import HubFile, QuantGroup
from app.core.hub.download_parts import PART_SUFFIX, UnsafePath, safe_target
from app.core.library.hf_cache import INCOMPLETE_SUFFIX, blob_path
from app.core.state_file import parse_json, set_aside

SUFFIX = ".download.json"


@dataclass(frozen=True)
class PendingDownload:
    repo_id: str
    revision: str
    group: QuantGroup
    record: Path
    into_hf_cache: bool = False  # going into the Hugging Face cache's layout

    def bytes_on_disk(self, models_dir: Path, hf_cache: Path | None = None) -> int:
        total = 0
        for file in self.group.files:
            target = safe_target(models_dir, self.repo_id, file.path)
            candidates = [target, target.with_name(target.name + PART_SUFFIX)]
            if hf_cache is not None and file.sha256 is not None:
                blob = blob_path(hf_cache, self.repo_id, file.sha256)
                candidates += [blob, blob.with_name(blob.name + INCOMPLETE_SUFFIX)]
            for candidate in candidates:
                if candidate.is_file():
                    total += candidate.stat().st_size
                    break
        return total


def _record_path(models_dir: Path, repo_id: str, group: QuantGroup) -> Path:
    first = safe_target(models_dir, repo_id, group.files[0].path)
    return first.with_name(first.name + SUFFIX)


def remember(
    models_dir: Path, repo_id: str, revision: str, group: QuantGroup, into_hf_cache: bool = False
) -> Path:
    record = _record_path(models_dir, repo_id, group)
    record.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "repo_id": repo_id,
        "revision": revision,
        "quant": group.quant,
        "shards_expected": group.shards_expected,
        "into_hf_cache": into_hf_cache,
        "files": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in group.files],
    }
    write_atomic(record, json.dumps(document, indent=1))
    return record


def forget(models_dir: Path, repo_id: str, group: QuantGroup) -> None:
    _record_path(models_dir, repo_id, group).unlink(missing_ok=True)


def pending(models_dir: Path) -> list[PendingDownload]:
    """Every remembered download whose files are not all in place yet."""
    found: list[PendingDownload] = []
    if not models_dir.is_dir():
        return found
    for record in sorted(models_dir.rglob("*" + SUFFIX)):
        try:
            data = parse_json(record.read_text(encoding="utf-8"))
            files = [
                HubFile(str(f["path"]), int(f["size"]), f.get("sha256") or None)
                for f in data["files"]
            ]
            group = QuantGroup(str(data["quant"]), files, int(data["shards_expected"]))
            item = PendingDownload(
                str(data["repo_id"]),
                str(data["revision"]),
                group,
                record,
                data.get("into_hf_cache") is True,
            )
            item.bytes_on_disk(models_dir)  # refuses names that leave the models folder
        except (OSError, ValueError, KeyError, TypeError, UnsafePath) as exc:
            set_aside(record, str(exc))  # nothing can be resumed from it
            continue
        found.append(item)
    return found
