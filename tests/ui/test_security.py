"""The Hub token never lands in the app's files; downloads never downgrade to http."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import pytest
from fakehub.server import VALID_TOKEN, FakeHub
from pytestqt.qtbot import QtBot

from app.core import paths
from app.core.gguf.quant_files import group_files
from app.core.hub.downloader import Downloader, DownloadError, insecure_redirect
from app.core.hub.hub_client import HubClient
from app.core.library.library import Library
from app.core.settings import RuntimeSettings, settings_path
from app.ui.main_window import MainWindow


def test_token_is_never_written_by_the_app(
    qtbot: QtBot,
    fake_hub: FakeHub,
    hf_home: Path,
    tmp_path: Path,
    workspace: Callable[[], MainWindow],
    run_tokens: Callable[[MainWindow, int], None],
) -> None:
    log_file = tmp_path / "app.log"
    handler = logging.FileHandler(log_file)
    root = logging.getLogger()
    root.addHandler(handler)
    level = root.level
    root.setLevel(logging.DEBUG)  # everything any library logs, the Hub client's included
    try:
        client = HubClient(fake_hub.endpoint)
        assert client.save_token(VALID_TOKEN) == "student"
        models = tmp_path / "models"
        details = client.repo("acme/Gated-GGUF")
        Downloader(HubClient(fake_hub.endpoint), models).download_group(
            "acme/Gated-GGUF", group_files(details.files)[0], details.commit
        )
        window = workspace()
        window.models.library = Library(models, tmp_path / "hf", tmp_path / "imported.json")
        window.models.refresh_library()
        window.apply_settings(RuntimeSettings(n_ctx=2048))
        qtbot.waitUntil(lambda: not window._loading_spec, timeout=90_000)
        run_tokens(window, 4)
        window.files.save_session(tmp_path / "run.json")
        window.files.export_csv(tmp_path / "steps.csv")
        window.apply_settings(RuntimeSettings())
        qtbot.waitUntil(lambda: not window._loading_spec, timeout=90_000)
    finally:
        root.removeHandler(handler)
        handler.close()
        root.setLevel(level)
    # The gated download really used the token (the fake Hub refuses it otherwise).
    sent = [{k.lower(): v for k, v in r.headers.items()} for r in fake_hub.requests]
    assert any(h.get("authorization") == f"Bearer {VALID_TOKEN}" for h in sent)
    written = [
        log_file,
        tmp_path / "run.json",
        tmp_path / "steps.csv",
        settings_path(),
        *[p for p in models.rglob("*") if p.is_file()],
        *[p for p in paths.data_dir().glob("*.json")],
    ]
    for path in written:
        assert VALID_TOKEN.encode() not in path.read_bytes(), path
    assert (hf_home / "token").read_text() == VALID_TOKEN  # only in the Hub client's store


def test_https_download_never_follows_a_redirect_to_http() -> None:
    insecure_redirect("https://huggingface.co/a/b/resolve/main/x.gguf", "https://cdn.example/x")
    insecure_redirect("http://127.0.0.1:8080/a/b/resolve/main/x", "http://127.0.0.1:8080/y")
    with pytest.raises(DownloadError, match="insecure address"):
        insecure_redirect("https://huggingface.co/a/b/resolve/main/x.gguf", "http://evil/x?s=1")
