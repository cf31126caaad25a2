"""The Models tab against the fake Hub: search, files, a real download, then generation."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from fakehub.server import FakeFile, FakeHub, FakeRepo
from pytestqt.qtbot import QtBot

from app.core.library.library import Library
from app.ui.main_window import MainWindow

LOAD_TIMEOUT_MS = 90_000
REPO = "course/Gemma-3-270M-GGUF"


def _window(qtbot: QtBot, hub: FakeHub, tmp_path: Path, spec: str) -> MainWindow:
    library = Library(tmp_path / "models", tmp_path / "hf-cache", tmp_path / "imported.json")
    window = MainWindow(spec, hub_endpoint=hub.endpoint, library=library)
    qtbot.addWidget(window)
    window.show()
    return window


def _ready(qtbot: QtBot, window: MainWindow) -> None:
    button = window.workspace.generate_button
    qtbot.waitUntil(button.isEnabled, timeout=LOAD_TIMEOUT_MS)


def test_download_from_the_hub_then_generate(
    qtbot: QtBot,
    fake_hub: FakeHub,
    model_path: Path,
    tmp_path: Path,
    run_tokens: Callable[[MainWindow, int], None],
) -> None:
    fake_hub.add_repo(
        FakeRepo(
            REPO,
            {"gemma-3-270m-Q4_K_M.gguf": FakeFile(disk=model_path)},
            license="gemma",
            downloads=10**6,
        )
    )
    window = _window(qtbot, fake_hub, tmp_path, str(model_path))
    _ready(qtbot, window)
    models = window.models
    window.tabs.setCurrentWidget(models)
    models.sources.setCurrentIndex(1)  # the first visit lists the most downloaded
    qtbot.waitUntil(lambda: models.search_panel.table.rowCount() == 4, timeout=10_000)
    assert models.search_panel.table.item(0, 0).text() == "Gemma-3-270M-GGUF"  # 1M downloads

    models.search_panel.search_edit.setText("gemma")
    models.search()
    qtbot.waitUntil(lambda: models.search_panel.table.rowCount() == 1, timeout=10_000)
    assert models.search_panel.table.item(0, 0).text() == "Gemma-3-270M-GGUF"
    assert models.search_panel.table.item(0, 1).text() == "course"
    assert models.search_panel.table.item(0, 2).text() == "1M"

    models.search_panel.table.selectRow(0)
    panel = models.files_panel
    qtbot.waitUntil(lambda: bool(panel.groups), timeout=10_000)
    assert panel.table.item(0, 0).text() == "★ Q4_K_M"
    assert panel.table.item(0, 3).text() == "fits"
    assert "Gemma Terms of Use</a> — <b>restricted open weights</b>" in panel.facts.text()
    assert panel.download_button.isEnabled()

    panel.download_button.click()
    (job_id,) = models.queue.rows
    row = models.queue.rows[job_id]
    qtbot.waitUntil(lambda: row.load.isVisible(), timeout=120_000)
    downloaded = tmp_path / "models" / "course" / "Gemma-3-270M-GGUF" / "gemma-3-270m-Q4_K_M.gguf"
    assert row.path == str(downloaded)
    assert downloaded.stat().st_size == model_path.stat().st_size
    assert "sha256 verified" in models.status_message
    qtbot.waitUntil(
        lambda: any(e.path == downloaded for e in models.library_panel.entries), timeout=10_000
    )

    row.load.click()
    qtbot.waitUntil(
        lambda: window._model is not None and window._model.path == downloaded,
        timeout=LOAD_TIMEOUT_MS,
    )
    _ready(qtbot, window)
    assert window.tabs.currentWidget() is window.workspace
    run_tokens(window, 8)
    record = window.workspace.record
    assert record is not None and len(record.steps) == 8


def test_gated_repo_offers_a_token_and_offline_search_says_so(
    qtbot: QtBot, fake_hub: FakeHub, model_path: Path, tmp_path: Path, hf_home: Path
) -> None:
    from fakehub.server import VALID_TOKEN

    window = _window(qtbot, fake_hub, tmp_path, str(model_path))
    models = window.models
    window.tabs.setCurrentWidget(models)
    models.show_repo("acme/Gated-GGUF")
    panel = models.files_panel
    qtbot.waitUntil(lambda: bool(panel.groups), timeout=10_000)
    assert panel.token_button.isVisible() and "Gated" in panel.note.text()
    models.save_token(VALID_TOKEN)
    qtbot.waitUntil(
        lambda: "Logged in to the Hub as student" in models.status_message, timeout=10_000
    )
    assert (hf_home / "token").read_text() == VALID_TOKEN

    models.endpoint = "http://127.0.0.1:9"  # nothing listens there
    models.search()
    qtbot.waitUntil(lambda: "unreachable" in models.search_panel.status.text(), timeout=10_000)
    assert "work offline" in models.search_panel.status.text()
    # The library still lists what is on disk.
    models.refresh_library()
    qtbot.waitUntil(lambda: models.library_panel.summary.text() != "", timeout=10_000)


def test_library_card_and_delete(
    qtbot: QtBot, fake_hub: FakeHub, model_path: Path, tmp_path: Path
) -> None:
    from app.core.gguf.quant_files import group_files
    from app.core.hub.downloader import Downloader
    from app.core.hub.hub_client import HubClient

    client = HubClient(fake_hub.endpoint, token=False)
    details = client.repo("acme/Tiny-GGUF")
    Downloader(client, tmp_path / "models").download_group(
        "acme/Tiny-GGUF", group_files(details.files)[0], details.commit
    )
    opened = tmp_path / "opened.gguf"
    os.link(model_path, opened)  # a file of the user's, not the bundled model's path
    window = _window(qtbot, fake_hub, tmp_path, str(opened))
    models = window.models
    panel = models.library_panel
    qtbot.waitUntil(lambda: len(panel.entries) == 2, timeout=10_000)  # tiny + the open model
    row = next(i for i, e in enumerate(panel.entries) if e.repo_id == "acme/Tiny-GGUF")
    panel.table.selectRow(row)
    qtbot.waitUntil(lambda: "On the Hub" in models.card_view.toPlainText(), timeout=10_000)
    qtbot.waitUntil(lambda: "1.2K downloads" in models.card_view.toPlainText(), timeout=10_000)
    text = models.card_view.toPlainText()
    assert "llama" in text and "Q4_K_M" in text and "base (continues text)" in text
    entry = panel.entries[row]
    models.remove_entry(entry)
    qtbot.waitUntil(lambda: "freed" in models.status_message, timeout=10_000)
    assert f"{entry.size / 1e6:.1f} MB freed" in models.status_message
    assert not entry.path.exists()


def test_settings_reload_the_model(
    qtbot: QtBot, fake_hub: FakeHub, model_path: Path, tmp_path: Path
) -> None:
    from app.core.settings import RuntimeSettings, SettingsStore
    from app.ui.settings_dialog import SettingsDialog

    window = _window(qtbot, fake_hub, tmp_path, str(model_path))
    _ready(qtbot, window)
    loaded = window._model
    assert loaded is not None and loaded.backend is not None
    dialog = SettingsDialog(window.settings_store.settings, loaded.backend, loaded.layers, 2)
    assert "CPU" in dialog.backend_label.text()
    dialog.context.setCurrentIndex(dialog.context.findData(2048))
    dialog.flash.setChecked(False)
    chosen = dialog.settings()
    assert (chosen.n_ctx, chosen.flash_attn) == (2048, False)
    window.apply_settings(chosen)
    qtbot.waitUntil(
        lambda: window._model is not None and window._model.n_ctx == 2048,
        timeout=LOAD_TIMEOUT_MS,
    )
    assert "context 2,048" in window.model_label.text()
    assert SettingsStore.load().settings == RuntimeSettings(flash_attn=False, n_ctx=2048)
    # Back to the defaults for the windows of later tests.
    window.apply_settings(RuntimeSettings())
    qtbot.waitUntil(lambda: not window._loading_spec, timeout=LOAD_TIMEOUT_MS)
    assert window._model is not None and window._model.n_ctx == 4096


def test_unfinished_download_resumes_after_restart(
    qtbot: QtBot, fake_hub: FakeHub, model_path: Path, tmp_path: Path
) -> None:
    """A download cut short (app killed) is listed as paused at the next start and
    resumes from the bytes on disk."""
    import threading

    import pytest
    from fakehub.server import Fault

    from app.core.gguf.quant_files import group_files
    from app.core.hub.downloader import DownloadCancelled, Downloader
    from app.core.hub.hub_client import HubClient
    from app.core.hub.pending_downloads import pending, remember

    repo, name = "acme/Tiny-GGUF", "tiny-Q8_0.gguf"
    client = HubClient(fake_hub.endpoint, token=False)
    details = client.repo(repo)
    group = next(g for g in group_files(details.files) if g.quant == "Q8_0")
    models_dir = tmp_path / "models"
    remember(models_dir, repo, details.commit, group)
    fake_hub.arm(f"{repo}/{name}", Fault("trickle", delay=0.01))
    cancel = threading.Event()
    with pytest.raises(DownloadCancelled):
        Downloader(client, models_dir).download(
            repo,
            group.files[0],
            details.commit,
            lambda p: cancel.set() if p.done > 1_000_000 else None,
            cancel,
        )
    kept = (models_dir / "acme" / "Tiny-GGUF" / (name + ".part")).stat().st_size

    window = _window(qtbot, fake_hub, tmp_path, str(model_path))
    queue = window.models.queue
    (job_id,) = queue.rows
    row = queue.rows[job_id]
    assert "paused" in row.status.text() and not row.resume.isHidden()
    row.resume.click()
    qtbot.waitUntil(lambda: not row.load.isHidden(), timeout=60_000)
    assert fake_hub.gets_of(name)[-1].headers["Range"] == f"bytes={kept}-"
    served = fake_hub.repos[repo].files[name].data
    assert Path(row.path).read_bytes() == served
    assert pending(models_dir) == []
