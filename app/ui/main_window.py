"""The main window: the model, the tabs (Workspace, Compare, Beam search, Tokenizer,
Models), files, settings, status.

The engine lives on its own thread (app.workers.engine_worker); the window only sends
requests and shows what comes back. One engine serves every tab, so while one tab runs
the others wait.
"""

from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

from PySide6.QtCore import QRect, QSize, Qt
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.library.default_model import is_default_model
from app.core.library.library import Library, LibraryEntry
from app.core.library.model_terms import terms_accepted
from app.core.llama.llama_runtime import physical_cores
from app.core.settings import RuntimeSettings, SettingsStore
from app.ui.connect_dialog import describe_remote
from app.ui.help_dialogs import add_help_menu
from app.ui.load_status import LoadStatus
from app.ui.model_picker import DEFAULT_MODEL_LABEL, ModelPicker
from app.ui.models.models_view import ModelsView
from app.ui.run_files import ModelHashes, RunFiles
from app.ui.server_actions import ServerActions
from app.ui.settings_dialog import SettingsDialog
from app.ui.tabs.beam_view import BeamView
from app.ui.tabs.compare_view import CompareView
from app.ui.tabs.course_tabs import CourseTabs
from app.ui.tabs.prompt_link import PromptLink
from app.ui.tabs.tokenizer_view import TokenizerView
from app.ui.tabs.workspace_layout import SAMPLE_PROMPT
from app.ui.tabs.workspace_view import WorkspaceView
from app.ui.terms_gate import ask_terms
from app.ui.widgets.live_label import LiveLabel
from app.ui.window_parts import (
    accept_gguf,
    add_action,
    drop_gguf,
    fit_window,
    labelled_row,
    restore_geometry,
    save_geometry,
    warning_box,
)
from app.ui.window_store import window_store
from app.workers.engine_requests import ModelLoaded
from app.workers.engine_thread import EngineThread
from app.workers.hub_worker import default_downloader, hub_threads
from app.workers.tokenizer_worker import TokenizerThread

PREFERRED_SIZE = QSize(1280, 800)  # the first start, where the screen has room


class MainWindow(QMainWindow):
    def __init__(
        self,
        model_spec: str = "default",
        hub_endpoint: str | None = None,
        library: Library | None = None,
        ask_terms: bool = True,
    ) -> None:
        super().__init__()
        self._ask_terms = ask_terms  # the bundled model's terms, before its first use
        self.settings_store = SettingsStore.load()
        self.setWindowTitle("LLM Playground")
        self.setAcceptDrops(True)
        self._settings_store = window_store()
        self._ids = itertools.count(1)  # request ids, unique across the tabs
        self._model: ModelLoaded | None = None
        self._loading_spec = ""
        self._model_spec = ""
        self.error_dialog: QMessageBox | None = None
        self.reload_offer: QMessageBox | None = None
        self.terms_question: QMessageBox | None = None
        self._engine = EngineThread()
        worker = self._engine.worker
        worker.sig_model_loaded.connect(self._on_model_loaded)
        worker.sig_model_failed.connect(self._on_model_failed)
        worker.sig_engine_lost.connect(self._on_engine_lost)
        worker.sig_load_cancelled.connect(self._on_load_cancelled)
        self._build(hub_endpoint, library)
        worker.sig_load_progress.connect(self.loading.report)
        restore_geometry(self, self._settings_store, self.workspace.splitter, PREFERRED_SIZE)
        self.load_model(model_spec)
        if self.settings_store.problem:
            self._show_error("Settings", self.settings_store.problem)

    # ---- layout -------------------------------------------------------------------
    def _build(self, hub_endpoint: str | None, library: Library | None) -> None:
        self.model_picker = ModelPicker()
        self.model_picker.activated.connect(self._on_model_picked)
        model_row = labelled_row("Model", self.model_picker)

        self.loading = LoadStatus()
        self.loading.cancel_requested.connect(  # direct: the worker's thread is busy loading
            self._engine.worker.cancel_load, Qt.ConnectionType.DirectConnection
        )
        self.model_label = QLabel("")
        self.run_label = LiveLabel("", alignment=Qt.AlignmentFlag.AlignRight)
        # Wide enough for a run's figures; the rest of the bar shows messages (saved, the
        # guess's score), which need the stretch: a permanent widget covers them.
        self.run_label.setMinimumWidth(540)
        self.run_label.setToolTip(
            "Perplexity: exp of the mean −log p of the generated tokens, under the "
            "distribution they were chosen from"
        )
        self.statusBar().addWidget(self.model_label, 1)
        self.statusBar().addPermanentWidget(self.run_label)
        self.statusBar().addPermanentWidget(self.loading)

        worker = self._engine.worker
        self.workspace = WorkspaceView(
            worker, lambda: next(self._ids), self.run_label, self.statusBar().showMessage
        )
        self.workspace.inside.attach(self._engine.inspection.worker)
        self.compare = CompareView(worker, lambda: next(self._ids))
        self.compare.prompt_edit.setPlainText(SAMPLE_PROMPT)
        self.beam_view = BeamView(worker, lambda: next(self._ids))
        self.beam_view.prompt_edit.setPlainText(SAMPLE_PROMPT)
        for view in (self.workspace, self.compare, self.beam_view):
            view.busy_changed.connect(lambda _busy: self._update_actions())
        self.prompt_link = PromptLink(
            [self.workspace.prompt_edit, self.compare.prompt_edit, self.beam_view.prompt_edit],
            self,
        )
        self.workspace.actions_changed.connect(self._update_file_actions)
        self.tabs = QTabWidget()
        self.tabs.addTab(self.workspace, "Workspace")
        self.tabs.addTab(self.compare, "Compare")
        self.tabs.addTab(self.beam_view, "Beam search")
        self._tokenizer_thread = TokenizerThread()
        self.tokenizer = TokenizerView(self._tokenizer_thread.worker)
        self.tabs.addTab(self.tokenizer, "Tokenizer")
        self.course = CourseTabs(self.tabs, self._local_model_path, self.workspace.full_text)
        library = library or Library()
        self._hub, self._downloads = hub_threads(
            default_downloader(library.models_dir, library.hf_cache)
        )
        self.models = ModelsView(
            lambda: self.settings_store.settings,
            self._hub.worker,
            self._downloads.worker,
            library,
            hub_endpoint,
        )
        self.models.sig_load_model.connect(self._load_from_library)
        self.models.sig_library_listed.connect(self._on_library_listed)
        self.models.sig_status.connect(lambda text: self.statusBar().showMessage(text, 8000))
        self.tabs.addTab(self.models, "Models")
        # The status bar's run figures are the Workspace's: shown on its tab only.
        self.tabs.currentChanged.connect(
            lambda _i: self.run_label.setVisible(self.tabs.currentWidget() is self.workspace)
        )
        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(model_row)
        layout.addWidget(self.tabs, 1)
        self.setCentralWidget(central)
        self.hashes = ModelHashes(self.statusBar().showMessage)
        self._engine.worker.sig_model_hash.connect(self.hashes.remember)
        self.files = RunFiles(
            self,
            self.workspace,
            lambda: self.hashes.identity(self._model),
            self.statusBar().showMessage,
            self._show_error,
            lambda: self.tabs.setCurrentWidget(self.workspace),
        )
        self.servers = ServerActions(
            self,
            self._settings_store,
            self.statusBar(),
            lambda: self.busy,
            self.connect_server,
            self._local_model_path,
            self._show_error,
        )
        self._build_menus()
        self._update_actions()

    def _build_menus(self) -> None:
        ws = self.workspace
        files = self.files
        file_menu = self.menuBar().addMenu("&File")
        add_action(
            self,
            file_menu,
            "Open GGUF model…",
            self.open_model_dialog,
            QKeySequence.StandardKey.Open,
        )
        servers = self.servers
        add_action(self, file_menu, "Connect to a server…", servers.connect_dialog, "Ctrl+Shift+K")
        add_action(self, file_menu, "Serve this model to the class…", servers.serve_dialog)
        file_menu.addSeparator()
        add_action(self, file_menu, "Open session…", files.open_session_dialog, "Ctrl+Shift+O")
        self.save_action = add_action(
            self,
            file_menu,
            "Save session…",
            files.save_session_dialog,
            QKeySequence.StandardKey.Save,
        )
        self.csv_action = add_action(
            self, file_menu, "Export steps as CSV…", files.export_csv_dialog
        )
        self.png_action = add_action(
            self, file_menu, "Export chart as PNG or SVG…", files.export_chart_dialog
        )
        file_menu.addSeparator()
        add_action(self, file_menu, "Settings…", self.settings_dialog, "Ctrl+,")
        file_menu.addSeparator()
        add_action(self, file_menu, "Quit", self.close, QKeySequence.StandardKey.Quit)
        run_menu = self.menuBar().addMenu("&Run")
        add_action(self, run_menu, "Generate", ws.start_generation, "Ctrl+Return")
        add_action(self, run_menu, "Stop", self.stop, "Escape")
        add_action(self, run_menu, "Continue", ws.continue_generation, "Ctrl+Shift+Return")
        add_action(self, run_menu, "Step one token", ws.step_once, "Ctrl+.")
        add_action(self, run_menu, "Restore previous branch", ws.restore_branch, "Ctrl+Z")
        add_help_menu(self, self.menuBar().addMenu("&Help"))

    @property
    def loaded_model(self) -> ModelLoaded | None:
        return self._model

    @property
    def busy(self) -> bool:
        return self.workspace.running or self.compare.running or self.beam_view.running

    def _update_actions(self) -> None:
        """One engine: while one tab runs, the others wait."""
        ready = self._model is not None and not self._loading_spec
        views = (self.workspace, self.compare, self.beam_view)
        for view in views:
            view.set_model_ready(ready)
            view.set_external_busy(any(other.running for other in views if other is not view))
        self.model_picker.setEnabled(not self.busy)
        self._update_file_actions()

    def _update_file_actions(self) -> None:
        can_save = self.workspace.has_steps and not self.workspace.running
        for action in (self.save_action, self.csv_action, self.png_action):
            action.setEnabled(can_save)

    def stop(self) -> None:
        """Stop whatever the engine is doing (Esc)."""
        for view in (self.workspace, self.compare, self.beam_view):
            if view.running:
                view.stop()

    # ---- models -------------------------------------------------------------------
    def _on_library_listed(self, entries: list[LibraryEntry]) -> None:
        self.model_picker.set_entries(entries)
        self.model_picker.select(self._current_spec() or self._loading_spec)

    def _on_model_picked(self, index: int) -> None:
        spec = self.model_picker.itemData(index)
        if spec == "":
            self.open_model_dialog()
        elif spec and spec.startswith(("http://", "https://")):
            if spec != self._current_spec():
                self.connect_server(spec, self.servers.api_key)
        elif spec and spec != self._current_spec():
            self.load_model(str(spec))

    def _current_spec(self) -> str:
        return self._model_spec if self._model is not None else ""

    def load_model(self, spec: str) -> None:
        """Load in the background; the current model stays usable if this one fails."""
        if self.busy:
            return
        if is_default_model(spec):
            spec = "default"  # one entry in the picker, however it was opened
            if self._ask_terms and not terms_accepted():
                self.terms_question = ask_terms(
                    self, lambda: self.load_model("default"), self._on_terms_declined
                )
                return
        name = DEFAULT_MODEL_LABEL if spec == "default" else Path(spec).name
        self._begin_loading(spec, f"Loading {name}…")
        self._engine.worker.load(spec, self.settings_store.settings.engine_config())

    def _begin_loading(self, spec: str, text: str, cancellable: bool = True) -> None:
        """A model (or server) is on its way: say so and hold the runs until it answers."""
        self._loading_spec = spec
        self.model_label.setText(text)
        self.loading.start(cancellable)
        self._update_actions()

    def _load_from_library(self, path: str) -> None:
        if self.busy:
            self.statusBar().showMessage("Stop the running generation first", 5000)
            return
        self.load_model(path)
        self.tabs.setCurrentWidget(self.workspace)

    def settings_dialog(self) -> None:
        loaded = self._model
        dialog = SettingsDialog(
            self.settings_store.settings,
            loaded.backend if loaded else None,
            loaded.layers if loaded else 0,
            physical_cores(),
            self,
        )
        if dialog.exec() == SettingsDialog.DialogCode.Accepted:
            self.apply_settings(dialog.settings())

    def apply_settings(self, settings: RuntimeSettings) -> None:
        """Save, then reload the current model with them (freeing it first: both copies
        may not fit)."""
        if settings == self.settings_store.settings and self._model is not None:
            return
        self.settings_store.save(settings)
        spec = self._current_spec() or "default"
        if spec.startswith(("http://", "https://")):  # a server runs the model: nothing here
            self.statusBar().showMessage("Saved: they apply to models run on this computer", 6000)
            return
        if self.busy:
            self.stop()
        self._begin_loading(spec, "Reloading the model with the new settings…")
        self._engine.worker.load(spec, settings.engine_config(), free_first=True)

    def open_model_dialog(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Open a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.load_model(path)
        else:
            self.model_picker.select(self._current_spec())

    def connect_server(self, url: str, api_key: str | None) -> None:
        """Use the llama-server at `url` (as a load: the current model stays if it fails)."""
        if self.busy:
            return
        self.servers.api_key = api_key
        self._begin_loading(url, f"Connecting to {url}…", cancellable=False)
        self._engine.worker.connect_server(url, api_key)
        self._tokenizer_thread.worker.use_server(url, api_key)

    def _local_model_path(self) -> Path | None:
        model = self._model
        return model.path if model is not None and model.remote is None else None

    def _on_model_loaded(self, loaded: ModelLoaded) -> None:
        spec = self._loading_spec
        self._loading_spec = ""
        self._model = loaded
        self._model_spec = spec
        self.loading.finish()
        self.model_label.setText(loaded.describe())
        self.model_label.setToolTip(describe_remote(loaded.remote) if loaded.remote else "")
        self.compare.set_chat_template(loaded.chat_template)
        if loaded.remote is not None:
            self.tokenizer.set_model(loaded.remote.url)
            self.model_picker.select_server(f"{loaded.remote.address} (llama-server)", spec)
            self._update_actions()
            return
        self.model_picker.remember(spec)
        self.tokenizer.set_model(str(loaded.path))
        self.models.set_backend(loaded.backend)
        listed = self.model_picker.lists(loaded.path)
        if (spec != "default" and self.models.library.add_import(Path(spec))) or not listed:
            self.models.refresh_library()
        self._update_actions()

    def _on_model_failed(self, message: str, previous_kept: bool) -> None:
        self._loading_spec = ""
        self.loading.finish()
        if previous_kept and self._model is not None:
            self.model_label.setText(self._model.describe())
            self.model_picker.select(self._current_spec())
        else:
            self.model_label.setText(f"Could not load the model: {message}")
        self._show_error("The model could not be loaded", message, previous_kept)
        self._update_actions()

    def _on_load_cancelled(self, previous_kept: bool) -> None:
        self._loading_spec = ""
        self.loading.finish()
        self.statusBar().showMessage("Loading was cancelled", 6000)
        self._on_terms_declined("No model loaded (cancelled)" if not previous_kept else "")

    def _on_terms_declined(self, why: str = "No model: the bundled model's terms declined") -> None:
        """No new model: the one loaded before (if any) stays named and picked."""
        self.model_label.setText(self._model.describe() if self._model else why)
        self.model_picker.select(self._current_spec())
        self._update_actions()

    def _on_engine_lost(self, message: str, _had_model: bool) -> None:
        """An RPC worker failed inside llama.cpp: the model is gone; offer it again."""
        self._model, self._loading_spec = None, ""
        self.loading.finish()
        self.model_label.setText("No model: an RPC worker failed (Settings → RPC workers)")
        self._update_actions()
        question = "Load the model again without the RPC workers, every layer on this computer?"
        self.reload_offer = box = QMessageBox(self)
        box.setIcon(QMessageBox.Icon.Warning)
        box.setText(f"{message}\n\nWhat was generated stays. {question}")
        box.setStandardButtons(QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No)
        box.accepted.connect(self._reload_without_workers)
        box.open()

    def _reload_without_workers(self) -> None:
        self.apply_settings(replace(self.settings_store.settings, rpc_workers=()))

    def _show_error(self, title: str, message: str, previous_kept: bool = False) -> None:
        detail = message
        if previous_kept and self._model is not None:
            detail += f"\n\n{self._model.name} is still loaded and ready."
        self.error_dialog = warning_box(self, title, detail)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        accept_gguf(event)

    def dropEvent(self, event: QDropEvent) -> None:
        drop_gguf(event, self.load_model)

    # ---- window state -----------------------------------------------------------------
    def fit_to(self, available: QRect, *, keep_size: bool = False) -> None:
        fit_window(self, available, PREFERRED_SIZE, keep_size=keep_size)

    def closeEvent(self, event: QCloseEvent) -> None:
        save_geometry(self, self._settings_store, self.workspace.splitter)
        self.servers.close()
        self.tokenizer.close_worker()
        self.course.close()
        self._tokenizer_thread.close()
        self._downloads.close()
        self._hub.close()
        self._engine.close()
        super().closeEvent(event)
