"""The Models tab: search the Hub, the course's picks, the local library, a repository's
files, model cards, and the download queue.

Hub queries and library scans run on the hub thread, downloads on their own
(app.workers.hub_worker); this view only sends requests and shows what comes back. A
newer query of the same kind makes an older one's answer stale, and it is dropped.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QInputDialog,
    QLabel,
    QLineEdit,
    QMessageBox,
    QSplitter,
    QStackedWidget,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import PlaygroundError
from app.core.gguf.memory_fit import estimate, fit_for, system_memory
from app.core.gguf.quant_files import QuantGroup
from app.core.hub.hub_client import HubClient, RepoDetails, SortKey
from app.core.hub.pending_downloads import pending
from app.core.library.library import Library, LibraryEntry
from app.core.llama.llama_runtime import BackendInfo
from app.core.settings import RuntimeSettings
from app.core.units import format_bytes
from app.ui.models.course_picks_view import CoursePicksView
from app.ui.models.download_queue_view import DownloadQueueView
from app.ui.models.hub_search_panel import HubSearchPanel
from app.ui.models.library_panel import LibraryPanel
from app.ui.models.model_card_view import CardFacts, ModelCardView
from app.ui.models.repo_files_panel import RepoFilesPanel
from app.ui.widgets.file_choice import choose_gguf
from app.workers.hub_worker import DownloadJob, DownloadWorker, HubWorker

SEARCH_LIMIT = 50


class ModelsView(QWidget):
    sig_load_model = Signal(str)
    """(path) the user wants this model loaded for every tab."""
    sig_library_listed = Signal(object)
    """(list of LibraryEntry) after every scan of the library."""
    sig_status = Signal(str)
    """A one-line outcome for the status bar (downloaded, deleted, logged in)."""

    def __init__(
        self,
        settings: Callable[[], RuntimeSettings],
        hub: HubWorker,
        downloads: DownloadWorker,
        library: Library,
        endpoint: str | None = None,
    ) -> None:
        """`hub` answers Hub requests and `downloads` fetches files into the library's
        folder, each on a thread the window owns (hub_worker.hub_threads)."""
        super().__init__()
        self.endpoint = endpoint or HubClient().endpoint
        self.library = library
        self._settings = settings
        self._backend: BackendInfo | None = None
        self._ids = itertools.count(1)
        self._handlers: dict[int, tuple[Callable[[Any], None], Callable[[str, str], None]]] = {}
        self._latest: dict[str, int] = {}
        self._jobs: dict[int, DownloadJob] = {}
        self.status_message = ""
        self.error_dialog: QMessageBox | None = None
        self._hub = hub
        self._downloads = downloads
        hub.sig_done.connect(self._on_hub_done)
        hub.sig_failed.connect(self._on_hub_failed)
        dl = downloads
        dl.sig_started.connect(lambda job: self.queue.started(job))
        dl.sig_progress.connect(lambda job, p: self.queue.progress(job, p))
        dl.sig_finished.connect(self._on_download_finished)
        dl.sig_failed.connect(self._on_download_failed)
        dl.sig_cancelled.connect(
            lambda job: self.queue.stopped(job, "cancelled · the partial file is kept", True)
        )
        self._build()
        self.refresh_library()
        self._show_pending()

    # ---- layout -------------------------------------------------------------------
    def _build(self) -> None:
        self.search_panel = HubSearchPanel()
        self.search_panel.sig_search.connect(self._search)
        self.search_panel.sig_selected.connect(lambda repo: self.show_repo(repo))
        self.picks = CoursePicksView()
        self.picks.sig_selected.connect(self.show_repo)

        self.library_panel = LibraryPanel()
        self.library_panel.sig_selected.connect(self._on_library_selected)
        self.library_panel.sig_load.connect(lambda e: self.sig_load_model.emit(str(e.path)))
        self.library_panel.sig_delete.connect(self.delete_entry)
        self.library_panel.sig_import.connect(self.import_dialog)
        self.library_panel.sig_refresh.connect(self.refresh_library)

        self.sources = QTabWidget()
        self.sources.addTab(self.picks, "Course picks")
        self.sources.addTab(self.search_panel, "Search the Hub")
        self.sources.addTab(self.library_panel, "On this computer")
        self.sources.currentChanged.connect(self._on_source_changed)

        self.files_panel = RepoFilesPanel()
        self.files_panel.sig_download.connect(self.download)
        self.files_panel.sig_token.connect(self.ask_token)
        self.card_view = ModelCardView()
        self.card_view.setAccessibleName("Model card")
        self.placeholder = QLabel("Pick a model to see its files or its card.")
        self.placeholder.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.details = QStackedWidget()
        for page in (self.placeholder, self.files_panel, self.card_view):
            self.details.addWidget(page)

        top = QSplitter(Qt.Orientation.Horizontal)
        top.addWidget(self.sources)
        top.addWidget(self.details)
        top.setStretchFactor(0, 3)
        top.setStretchFactor(1, 2)
        self.queue = DownloadQueueView()
        self.queue.sig_cancel.connect(self._downloads.cancel_job)
        self.queue.sig_resume.connect(self._resume)
        self.queue.sig_load.connect(self.sig_load_model.emit)
        layout = QVBoxLayout(self)
        layout.addWidget(top, 1)
        layout.addWidget(self.queue)

    def _say(self, text: str) -> None:
        self.status_message = text
        self.sig_status.emit(text)

    def _warn(self, title: str, message: str) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, title, message, parent=self)
        box.open()  # not exec(): the window keeps running (downloads, generation)
        self.error_dialog = box

    def set_backend(self, backend: BackendInfo | None) -> None:
        self._backend = backend

    # ---- requests -----------------------------------------------------------------
    def _request(
        self,
        kind: str,
        call: Callable[[], Any],
        done: Callable[[Any], None],
        failed: Callable[[str, str], None],
    ) -> int:
        request_id = next(self._ids)
        self._latest[kind] = request_id
        self._handlers[request_id] = (
            lambda result: done(result) if self._latest.get(kind) == request_id else None,
            lambda k, m: failed(k, m) if self._latest.get(kind) == request_id else None,
        )
        self._hub.run(request_id, call)
        return request_id

    def _on_hub_done(self, request_id: int, result: object) -> None:
        handlers = self._handlers.pop(request_id, None)
        if handlers is not None:
            handlers[0](result)

    def _on_hub_failed(self, request_id: int, kind: str, message: str) -> None:
        handlers = self._handlers.pop(request_id, None)
        if handlers is not None:
            handlers[1](kind, message)

    def _client(self) -> HubClient:
        return HubClient(self.endpoint)

    # ---- search -------------------------------------------------------------------
    def _on_source_changed(self, _index: int) -> None:
        """The first visit to the search page lists the most downloaded GGUF models."""
        if self.sources.currentWidget() is self.search_panel and "search" not in self._latest:
            self.search()

    def search(self) -> None:
        """Search with what the search panel holds."""
        self.search_panel.request()

    def _search(self, text: str, sort: SortKey) -> None:
        client = self._client()
        self.search_panel.show_searching()
        self._request(
            "search",
            lambda: client.search(text, sort, SEARCH_LIMIT),
            self.search_panel.show_results,
            lambda _kind, message: self.search_panel.show_error(message),
        )

    # ---- a repository -------------------------------------------------------------
    def show_repo(self, repo_id: str, preferred: str = "") -> None:
        self.details.setCurrentWidget(self.files_panel)
        self.files_panel.show_message(repo_id, "Reading the repository's files…")
        client = self._client()
        self._request(
            "repo",
            lambda: client.repo(repo_id),
            lambda details: self._show_repo(details, preferred),
            lambda _kind, message: self.files_panel.show_message(repo_id, message),
        )

    def _show_repo(self, details: RepoDetails, preferred: str) -> None:
        vram = self._vram()
        settings = self._settings()
        share = 1.0 if vram[0] and settings.gpu_layers is None else 0.0
        if vram[0] and settings.gpu_layers:
            share = 0.5  # unknown layer count before download: a middle estimate
        self.files_panel.show_repo(details, system_memory(), vram, share, preferred)

    def _vram(self) -> tuple[int, int]:
        backend = self._backend
        if backend is None or not backend.gpu_offload:
            return 0, 0
        gpus = [d for d in backend.devices if d.kind != "CPU"]
        return sum(d.memory_total for d in gpus), sum(d.memory_free for d in gpus)

    # ---- downloads ----------------------------------------------------------------
    def download(self, group: QuantGroup) -> int:
        details = self.files_panel.details
        assert details is not None
        job = DownloadJob(
            next(self._ids),
            details.repo_id,
            group,
            details.commit,
            self.endpoint,
            self.files_panel.into_hf_cache.isChecked(),
        )
        self._jobs[job.job_id] = job
        self.queue.add(job.job_id, f"{job.label} · {group.label}", group.size)
        self._downloads.enqueue(job)
        return job.job_id

    def _show_pending(self) -> None:
        """Downloads an earlier run left unfinished, ready to resume."""
        models_dir = self.library.models_dir
        for item in pending(models_dir):
            job = DownloadJob(
                *(next(self._ids), item.repo_id, item.group, item.revision, self.endpoint),
                item.into_hf_cache,
            )
            self._jobs[job.job_id] = job
            self.queue.add(job.job_id, f"{job.label} · {item.group.label}", item.group.size)
            have = item.bytes_on_disk(models_dir, self.library.hf_cache)
            self.queue.paused(job.job_id, have, item.group.size)

    def _resume(self, job_id: int) -> None:
        job = self._jobs[job_id]
        self.queue.requeued(job_id)
        self._downloads.enqueue(job)

    def _on_download_finished(self, job_id: int, paths: list[str]) -> None:
        self.queue.finished(job_id, paths[0])
        self._say(f"Downloaded {Path(paths[0]).name} (sha256 verified)")
        self.refresh_library(select=paths[0])

    def _on_download_failed(self, job_id: int, message: str, resumable: bool) -> None:
        self.queue.stopped(job_id, message, resumable)

    def ask_token(self) -> None:
        token, ok = QInputDialog.getText(
            self,
            "Hugging Face access token",
            "Paste a read token from huggingface.co/settings/tokens.\n"
            "It is checked with the Hub and kept where the Hub client keeps it,\n"
            "never in this app's settings or logs.",
            QLineEdit.EchoMode.Password,
        )
        if ok and token.strip():
            self.save_token(token)

    def save_token(self, token: str) -> None:
        client = self._client()
        repo = self.files_panel.details.repo_id if self.files_panel.details else ""

        def saved(name: str) -> None:
            self._say(f"Logged in to the Hub as {name}")
            self.files_panel.facts.setText(self.status_message)
            if repo:
                self.show_repo(repo)

        self._request(
            "token",
            lambda: client.save_token(token),
            saved,
            lambda _k, message: self._warn("Access token", message),
        )

    # ---- library ------------------------------------------------------------------
    def refresh_library(self, select: str = "") -> None:
        library = self.library

        def listed(entries: list[LibraryEntry]) -> None:
            self.library_panel.show_entries(entries)
            self.sig_library_listed.emit(entries)
            if select:
                self.library_panel.select_path(select)

        self._request(
            "library",
            library.entries,
            listed,
            lambda _k, message: self.library_panel.summary.setText(message),
        )

    def _on_library_selected(self, entry: LibraryEntry | None) -> None:
        if entry is None:
            return
        self.details.setCurrentWidget(self.card_view)
        if entry.error:
            self.card_view.show_problem(entry.path.name, f"This file cannot be used: {entry.error}")
            return
        settings = self._settings()
        library = self.library
        vram = self._vram()

        def facts() -> CardFacts:
            card = library.card(entry.path)
            if isinstance(card, str):
                raise PlaygroundError(card)
            layers = (card.layers or 0) + 1
            gpu_layers = (
                0 if not vram[0] else layers if settings.gpu_layers is None else settings.gpu_layers
            )
            need = estimate(entry.size, card, settings.n_ctx, gpu_layers)
            memory = system_memory()
            spread = ""
            if settings.rpc_workers:  # on this thread: a worker may take seconds to answer
                from app.core.llama.rpc_workers import describe_spread

                spread = describe_spread(need.total, layers - 1, settings.rpc_workers)
            return CardFacts(
                card,
                need,
                fit_for(need, memory, *vram),
                memory,
                settings.n_ctx,
                min(gpu_layers, layers),
                spread,
            )

        self._request(
            "card",
            facts,
            lambda f: self._show_card(f, entry),
            lambda _k, message: self.card_view.show_problem(entry.path.name, message),
        )

    def _show_card(self, facts: CardFacts, entry: LibraryEntry) -> None:
        self.card_view.show_card(facts, hub_pending=entry.repo_id is not None)
        if entry.repo_id is None:
            return
        client = self._client()
        repo_id = entry.repo_id
        self._request(
            "card-hub",
            lambda: client.repo(repo_id),
            lambda details: self.card_view.show_hub(details),
            lambda _k, message: self.card_view.show_hub(None, message),
        )

    def delete_entry(self, entry: LibraryEntry) -> None:
        if entry.source == "imported":
            question = f"Forget {entry.path.name}? The file stays where it is."
        else:
            question = (
                f"Delete {entry.path.name} ({format_bytes(entry.size)})"
                + (" from the Hugging Face cache" if entry.source == "hf-cache" else "")
                + "?"
            )
        answer = QMessageBox.question(self, "Remove model", question)
        if answer == QMessageBox.StandardButton.Yes:
            self.remove_entry(entry)

    def remove_entry(self, entry: LibraryEntry) -> None:
        library = self.library

        def removed(freed: int) -> None:
            self._say(
                f"Deleted {entry.path.name}: {format_bytes(freed)} freed"
                if freed
                else f"{entry.path.name} is no longer listed"
            )
            self.library_panel.summary.setText(self.status_message)
            self.details.setCurrentWidget(self.placeholder)
            self.refresh_library()

        self._request(
            "remove",
            lambda: library.remove(entry),
            removed,
            lambda _k, message: self._warn("Remove model", message),
        )

    def import_dialog(self) -> None:
        path = choose_gguf(self, "Import a GGUF model")
        if path is not None:
            self.import_file(path)

    def import_file(self, path: Path) -> None:
        self.library.add_import(path)
        self.refresh_library(select=str(path.resolve()))
