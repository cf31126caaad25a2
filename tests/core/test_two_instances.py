"""Two app instances writing their files at once never leave a torn file behind, and
neither loses the other's entries."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

WRITER = r"""
import sys
from pathlib import Path
from app.core.library.library import Library
from app.core.settings import RuntimeSettings, SettingsStore
folder, who = Path(sys.argv[1]), int(sys.argv[2])
store = SettingsStore.load(folder / "settings.json")
library = Library(folder / "models", folder / "hf", folder / "imported.json")
for i in range(300):
    store.save(RuntimeSettings(n_ctx=1024 + 512 * who + i % 7, threads=who + 1))
    again = SettingsStore.load(folder / "settings.json")
    assert again.problem is None, again.problem
    model = folder / f"m{who}-{i % 5}.gguf"
    library.add_import(model)
    assert isinstance(library.imported_paths(), list)
"""


def test_concurrent_writers(tmp_path: Path) -> None:
    (tmp_path / "models").mkdir()
    for who in range(2):
        for i in range(5):
            (tmp_path / f"m{who}-{i}.gguf").write_bytes(b"GGUF")
    children = [
        subprocess.Popen([sys.executable, "-c", WRITER, str(tmp_path), str(who)])
        for who in range(2)
    ]
    assert [child.wait(timeout=300) for child in children] == [0, 0]
    settings = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert settings["version"] == 1
    imported = json.loads((tmp_path / "imported.json").read_text(encoding="utf-8"))
    # Each instance added its 5 models: every one of the 10 is there (a lock per file).
    assert sorted(Path(p).name for p in imported) == sorted(
        f"m{who}-{i}.gguf" for who in range(2) for i in range(5)
    )
    assert not list(tmp_path.glob("*.part"))
