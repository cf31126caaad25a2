"""The workspace: prompt, live token stream, next-token chart, timeline and controls.

The engine lives on its own thread (app.workers.engine_worker); this window only sends
requests and shows what comes back. Steps arrive per token and are shown on a ~30 ms
timer, so a fast model never floods the event loop.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QByteArray, QSettings, Qt, QTimer
from PySide6.QtGui import (
    QAction,
    QCloseEvent,
    QDragEnterEvent,
    QDropEvent,
    QKeySequence,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMenu,
    QMessageBox,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.decoding import DecodingSettings
from app.core.errors import PlaygroundError
from app.core.run_record import Branch, RunRecord, RunStats
from app.core.session_file import SessionView, load_session, save_session
from app.core.step_export import export_steps_csv
from app.ui.beam_view import BeamView
from app.ui.compare_view import CompareView
from app.ui.decoding_panel import DecodingPanel
from app.ui.live_label import LiveLabel
from app.ui.probability_chart import ProbabilityChart
from app.ui.timeline_view import TimelineView
from app.ui.token_stream_view import COLOR_MODES, TokenStreamView
from app.workers.engine_worker import (
    EngineThread,
    GenerationRequest,
    ModelLoaded,
    RunFinished,
    StepReport,
)

SAMPLE_PROMPT = (
    "Detective Jameson sat in his cramped office, surrounded by stacks of dusty files "
    "and yellowed newspapers."
)
REFRESH_MS = 33  # the text follows the stream at most ~30 times a second
# The plots repaint in software and cost ~10 ms each: while generating they follow
# every twelfth refresh (each ~2.5 times a second), taking turns, so no event-loop pass
# holds both (and the GIL) at once.
PLOT_EVERY = 12
DEFAULT_MODEL_LABEL = "Gemma 3 270M (bundled)"
OPEN_FILE_LABEL = "Open GGUF file…"
RECENT_MODELS = 8


class MainWindow(QMainWindow):
    def __init__(self, model_spec: str = "default") -> None:
        super().__init__()
        self.setWindowTitle("LLM Playground")
        self.setAcceptDrops(True)
        self._settings_store = QSettings()
        self._ids = itertools.count(1)  # request ids, shared with the Compare tab
        self._request = 0
        self._compare_busy = False
        self._running = False
        self._model: ModelLoaded | None = None
        self._loading_spec = ""
        self._model_spec = ""
        self._model_hashes: dict[str, str] = {}
        self.record: RunRecord | None = None
        self._eog: list[bool] = []
        self._branches: list[Branch] = []
        self._selected = -1  # the step the chart shows; -1 follows the latest
        self._pending: list[StepReport] = []
        self._hold_next = False  # the running step is to be guessed before it is shown
        self._holding = False  # a generated token waits for Reveal
        self._plot_pending: list[StepReport] = []
        self._flushes = 0
        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_MS)
        self._refresh_timer.timeout.connect(self._flush_pending)
        self.error_dialog: QMessageBox | None = None

        self._engine = EngineThread()
        worker = self._engine.worker
        worker.sig_model_loaded.connect(self._on_model_loaded)
        worker.sig_model_failed.connect(self._on_model_failed)
        worker.sig_model_hash.connect(self._on_model_hash)
        worker.sig_step.connect(self._on_step)
        worker.sig_beam_progress.connect(self._on_beam_progress)
        worker.sig_finished.connect(self._on_finished)
        worker.sig_failed.connect(self._on_failed)
        self._build()
        self._restore_geometry()
        self.load_model(model_spec)

    # ---- layout -------------------------------------------------------------------
    def _build(self) -> None:
        self.model_picker = QComboBox()
        self.model_picker.setMinimumWidth(240)
        self.model_picker.setToolTip("The model that generates (drop a .gguf file here too)")
        self._fill_model_picker()
        self.model_picker.activated.connect(self._on_model_picked)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate from the prompt (Ctrl+Enter)")
        self.generate_button.clicked.connect(lambda: self.start_generation())
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop generating (Esc)")
        self.stop_button.clicked.connect(lambda: self.stop_generation())
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Generate more after the current text (Ctrl+Shift+Enter)")
        self.continue_button.clicked.connect(lambda: self.continue_generation())
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("One more token: guess it first, then reveal (Ctrl+.)")
        self.step_button.clicked.connect(lambda: self.step_once())
        self.guess_box = QCheckBox("Guess first")
        self.guess_box.setToolTip(
            "Step keeps the new token hidden: guess what comes next, then press Reveal"
        )
        self.restore_button = QPushButton("Restore branch")
        self.restore_button.setToolTip("Bring back the text this branch replaced")
        self.restore_button.clicked.connect(lambda: self.restore_branch())

        self.color_mode = QComboBox()
        self.color_mode.addItems(
            ["Colour: token boundaries", "Colour: probability", "Colour: entropy"]
        )
        self.color_mode.setToolTip(
            "Token boundaries alternate two colours; probability goes from red (unlikely) to "
            "green (likely); entropy from pale (sure) to violet (unsure)"
        )
        self.color_mode.currentIndexChanged.connect(self._on_color_mode)
        self.whitespace_box = QCheckBox("Show whitespace (␣ ↵)")
        self.whitespace_box.toggled.connect(self._on_whitespace)

        top_bar = QHBoxLayout()
        top_bar.addWidget(QLabel("Model"))
        top_bar.addWidget(self.model_picker)
        top_bar.addSpacing(12)
        for button in (
            self.generate_button,
            self.stop_button,
            self.continue_button,
            self.step_button,
            self.guess_box,
            self.restore_button,
        ):
            top_bar.addWidget(button)
        top_bar.addStretch(1)
        top_bar.addWidget(self.color_mode)
        top_bar.addWidget(self.whitespace_box)

        self.prompt_edit = QPlainTextEdit(SAMPLE_PROMPT)
        self.prompt_edit.setPlaceholderText("Type a prompt; the model continues it")
        self.prompt_edit.setMaximumHeight(90)
        self.stream_view = TokenStreamView()
        self.stream_view.step_clicked.connect(self.select_step)
        self.stream_view.step_hovered.connect(self._on_hover)
        self.timeline = TimelineView()
        self.timeline.setMinimumHeight(120)
        self.timeline.step_clicked.connect(self.select_step)
        self.timeline.step_hovered.connect(self._on_hover)

        text_column = QWidget()
        text_layout = QVBoxLayout(text_column)
        text_layout.setContentsMargins(0, 0, 0, 0)
        text_layout.addWidget(QLabel("Prompt"))
        text_layout.addWidget(self.prompt_edit)
        self.output_caption = QLabel(
            "Output: each token has its own background; hover for details, click to inspect"
        )
        text_layout.addWidget(self.output_caption)
        text_layout.addWidget(self.stream_view, 1)
        left = QSplitter(Qt.Orientation.Vertical)
        left.addWidget(text_column)
        left.addWidget(self.timeline)
        left.setStretchFactor(0, 3)
        left.setStretchFactor(1, 1)
        left.setSizes([520, 170])

        self.decoding = DecodingPanel()
        self.decoding.temperature_changed.connect(lambda _t: self._sync_chart_settings())
        self.decoding.mode_changed.connect(lambda _m: self._sync_chart_settings())
        for spin in (self.decoding.top_k, self.decoding.top_p, self.decoding.min_p):
            spin.valueChanged.connect(lambda _v: self._sync_chart_settings())
        self.decoding.beam_width.valueChanged.connect(lambda _v: self._sync_chart_settings())
        self.chart = ProbabilityChart()
        self.chart.token_activated.connect(self.branch_with)
        side = QWidget()
        side.setMinimumWidth(380)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.decoding)
        side_layout.addWidget(self.chart, 1)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(side)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([760, 480])

        central = QWidget()
        layout = QVBoxLayout(central)
        layout.addLayout(top_bar)
        layout.addWidget(self.splitter, 1)
        self.compare = CompareView(self._engine.worker, lambda: next(self._ids))
        self.compare.prompt_edit.setPlainText(SAMPLE_PROMPT)
        self.compare.busy_changed.connect(self._on_tab_busy)
        self.beam_view = BeamView(self._engine.worker, lambda: next(self._ids))
        self.beam_view.prompt_edit.setPlainText(SAMPLE_PROMPT)
        self.beam_view.busy_changed.connect(self._on_tab_busy)
        self.tabs = QTabWidget()
        self.tabs.addTab(central, "Workspace")
        self.tabs.addTab(self.compare, "Compare")
        self.tabs.addTab(self.beam_view, "Beam search")
        self.setCentralWidget(self.tabs)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(140)
        self.model_label = QLabel("")
        self.run_label = LiveLabel("", alignment=Qt.AlignmentFlag.AlignRight)
        self.run_label.setMinimumWidth(560)
        self.run_label.setToolTip(
            "Perplexity: exp of the mean −log p of the generated tokens, under the "
            "distribution they were chosen from"
        )
        self.statusBar().addWidget(self.model_label, 1)
        self.statusBar().addPermanentWidget(self.run_label)
        self.statusBar().addPermanentWidget(self.progress)
        self._build_menus()
        self._sync_chart_settings()
        self._update_actions()

    def _on_color_mode(self, index: int) -> None:
        self.stream_view.set_color_mode(COLOR_MODES[index])

    def _on_whitespace(self, show: bool) -> None:
        self.stream_view.set_show_whitespace(show)

    def _build_menus(self) -> None:
        file_menu = self.menuBar().addMenu("&File")
        self._add_action(
            file_menu, "Open GGUF model…", self.open_model_dialog, QKeySequence.StandardKey.Open
        )
        file_menu.addSeparator()
        self._add_action(file_menu, "Open session…", self.open_session_dialog, "Ctrl+Shift+O")
        self.save_action = self._add_action(
            file_menu, "Save session…", self.save_session_dialog, QKeySequence.StandardKey.Save
        )
        self.csv_action = self._add_action(
            file_menu, "Export steps as CSV…", self.export_csv_dialog
        )
        self.png_action = self._add_action(
            file_menu, "Export chart as PNG…", self.export_chart_dialog
        )
        file_menu.addSeparator()
        self._add_action(file_menu, "Quit", self.close, QKeySequence.StandardKey.Quit)
        run_menu = self.menuBar().addMenu("&Run")
        self._add_action(run_menu, "Generate", self.start_generation, "Ctrl+Return")
        self._add_action(run_menu, "Stop", self.stop_generation, "Escape")
        self._add_action(run_menu, "Continue", self.continue_generation, "Ctrl+Shift+Return")
        self._add_action(run_menu, "Step one token", self.step_once, "Ctrl+.")
        self._add_action(run_menu, "Restore previous branch", self.restore_branch, "Ctrl+Z")

    def _add_action(
        self,
        menu: QMenu,
        text: str,
        slot: Callable[[], object],
        shortcut: str | QKeySequence.StandardKey | None = None,
    ) -> QAction:
        action = QAction(text, self)
        if shortcut is not None:
            action.setShortcut(QKeySequence(shortcut))
            action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(lambda _checked=False: slot())
        menu.addAction(action)
        return action

    def _on_tab_busy(self, _busy: bool) -> None:
        self._compare_busy = self.compare.running or self.beam_view.running
        self._update_actions()

    def _update_actions(self) -> None:
        """One engine: while one tab runs, the others wait."""
        ready = self._model is not None and not self._loading_spec
        for view in (self.compare, self.beam_view):
            view.set_model_ready(ready)
        self.compare.set_external_busy(self._running or self.beam_view.running)
        self.beam_view.set_external_busy(self._running or self.compare.running)
        idle = ready and not self._running and not self._compare_busy
        has_steps = self.record is not None and bool(self.record.steps)
        can_continue = (
            idle and has_steps and self.record is not None and self.record.stop_reason != "eog"
        )
        self.generate_button.setEnabled(idle)
        self.stop_button.setEnabled(self._running)
        self.continue_button.setEnabled(can_continue)
        self.step_button.setEnabled(idle and (not has_steps or can_continue or self._holding))
        self.restore_button.setEnabled(idle and bool(self._branches))
        self.model_picker.setEnabled(not self._running and not self._compare_busy)
        for action in (self.save_action, self.csv_action, self.png_action):
            action.setEnabled(has_steps and not self._running)

    # ---- models -------------------------------------------------------------------
    def _recent_models(self) -> list[str]:
        value = self._settings_store.value("models/recent", [])
        values = [value] if isinstance(value, str) else value if isinstance(value, list) else []
        return [str(v) for v in values if Path(str(v)).is_file()]

    def _fill_model_picker(self) -> None:
        picker = self.model_picker
        picker.blockSignals(True)
        picker.clear()
        picker.addItem(DEFAULT_MODEL_LABEL, "default")
        for path in self._recent_models():
            picker.addItem(Path(path).name, path)
        picker.addItem(OPEN_FILE_LABEL, "")
        picker.blockSignals(False)

    def _select_in_picker(self, spec: str) -> None:
        index = self.model_picker.findData(spec)
        if index >= 0:
            self.model_picker.setCurrentIndex(index)

    def _on_model_picked(self, index: int) -> None:
        spec = self.model_picker.itemData(index)
        if spec == "":
            self.open_model_dialog()
        elif spec and spec != self._current_spec():
            self.load_model(str(spec))

    def _current_spec(self) -> str:
        return self._model_spec if self._model is not None else ""

    def load_model(self, spec: str) -> None:
        """Load in the background; the current model stays usable if this one fails."""
        if self._running or self._compare_busy:
            return
        self._loading_spec = spec
        name = DEFAULT_MODEL_LABEL if spec == "default" else Path(spec).name
        self.model_label.setText(f"Loading {name}…")
        self.progress.setVisible(True)
        self._update_actions()
        self._engine.worker.load(spec)

    def open_model_dialog(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(
            self, "Open a GGUF model", str(Path.home()), "GGUF models (*.gguf);;All files (*)"
        )
        if path:
            self.load_model(path)
        else:
            self._select_in_picker(self._current_spec())

    def _on_model_loaded(self, loaded: ModelLoaded) -> None:
        spec = self._loading_spec
        self._loading_spec = ""
        self._model = loaded
        self._model_spec = spec
        if spec != "default":
            recent = [spec, *[p for p in self._recent_models() if p != spec]][:RECENT_MODELS]
            self._settings_store.setValue("models/recent", recent)
            self._fill_model_picker()
        self._select_in_picker(spec)
        self.progress.setVisible(False)
        self.model_label.setText(f"{loaded.name} · {loaded.device} · context {loaded.n_ctx:,}")
        self._update_actions()

    def _on_model_failed(self, message: str, previous_kept: bool) -> None:
        self._loading_spec = ""
        self.progress.setVisible(False)
        if previous_kept and self._model is not None:
            self.model_label.setText(
                f"{self._model.name} · {self._model.device} · context {self._model.n_ctx:,}"
            )
            self._select_in_picker(self._current_spec())
        else:
            self.model_label.setText(f"Could not load the model: {message}")
        self._show_error("The model could not be loaded", message, previous_kept)
        self._update_actions()

    def _on_model_hash(self, path: str, sha256: str) -> None:
        self._model_hashes[path] = sha256

    def _show_error(self, title: str, message: str, previous_kept: bool = False) -> None:
        detail = message
        if previous_kept and self._model is not None:
            detail += f"\n\n{self._model.name} is still loaded and ready."
        box = QMessageBox(
            QMessageBox.Icon.Warning, title, detail, QMessageBox.StandardButton.Ok, self
        )
        box.setWindowModality(Qt.WindowModality.WindowModal)
        box.open()  # not exec(): the engine keeps reporting while the message is up
        self.error_dialog = box

    # ---- drag and drop --------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        urls = event.mimeData().urls()
        if urls and urls[0].toLocalFile().lower().endswith(".gguf"):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = event.mimeData().urls()
        if urls:
            self.load_model(urls[0].toLocalFile())
            event.acceptProposedAction()

    # ---- runs ---------------------------------------------------------------------
    @property
    def running(self) -> bool:
        return self._running

    def settings(self) -> DecodingSettings:
        return self.decoding.settings()

    def _send(self, request: GenerationRequest) -> None:
        self._running = True
        self._selected = -1
        self.run_label.setText("Generating…")
        self._update_actions()
        self._engine.worker.generate(request)

    def start_generation(self) -> None:
        self._start(None)

    def _start(self, max_tokens: int | None) -> None:
        if self._model is None or self._running or self._loading_spec:
            return
        prompt = self.prompt_edit.toPlainText()
        if not prompt:
            self.statusBar().showMessage("Type a prompt first", 4000)
            return
        settings = self.settings()
        if max_tokens is not None:
            settings = settings.with_(max_tokens=max_tokens)
        self._request = next(self._ids)
        self._holding = self._hold_next = False
        self.step_button.setText("Step")
        self.record = RunRecord(prompt=prompt, settings=settings)
        self._eog = []
        self._branches = []
        self._pending = []
        self._plot_pending = []
        self._refresh_timer.stop()
        self.stream_view.pieces = self.record.pieces
        self.stream_view.start(prompt)
        self.timeline.set_steps([])
        self.chart.show_step(None, {}, settings)
        self._send(GenerationRequest(self._request, prompt, settings))

    def continue_generation(self) -> None:
        self._continue(None)

    def _continue(self, max_tokens: int | None) -> None:
        record = self.record
        if record is None or not record.steps or self._running or self._model is None:
            return
        if self._holding:
            self._reveal()
        if record.stop_reason == "eog":
            return
        settings = self.settings()
        if max_tokens is not None:
            settings = settings.with_(max_tokens=max_tokens)
        record.settings = settings
        record.stop_reason = ""
        self._request = next(self._ids)
        self._send(GenerationRequest(self._request, record.prompt, settings, tuple(record.ids)))

    def step_once(self) -> None:
        """One more token; with "Guess first" it stays hidden until Step is pressed again."""
        if self._holding:
            self._reveal()
            return
        hold = self.guess_box.isChecked()
        if self.record is None or not self.record.steps:
            self._start(1)
        else:
            self._continue(1)
        self._hold_next = hold and self._running

    def _reveal(self) -> None:
        self._holding = False
        self.step_button.setText("Step")
        self._flush_pending(all_views=True)
        self.stream_view.finish()
        record = self.record
        if record is not None and record.steps and self._selected < 0:
            self._show_chart(len(record.steps) - 1)
        self._update_run_label()
        self._update_actions()

    def stop_generation(self) -> None:
        if self._running:
            self.run_label.setText("Stopping…")
            self._engine.worker.stop()
        elif self.compare.running:
            self.compare.stop()
        elif self.beam_view.running:
            self.beam_view.stop()

    def branch_with(self, token_id: int) -> None:
        """Cut the text at the chart's step, force `token_id` there, and continue."""
        record = self.record
        step = self.chart.step
        if record is None or step is None or self._running or self._model is None:
            return
        if self._holding:
            self._reveal()
        index = step.index
        if not 0 <= index < len(record.steps) or record.steps[index] is not step:
            return
        dist = step.distribution
        matches = (dist.head_ids == token_id).nonzero()[0]
        if matches.size == 0 or token_id == step.id:
            return
        logit = float(dist.head_logits[matches[0]])
        forced = step.forcing(token_id, record.piece_of(token_id), logit)
        self._branches.append(Branch(index, record.steps[index:], record.stop_reason))
        record.cut(index)
        del self._eog[index:]
        self.stream_view.truncate(index)
        self.timeline.set_steps(record.steps)
        settings = self.settings()
        record.settings = settings
        self._request = next(self._ids)
        self._send(
            GenerationRequest(
                self._request, record.prompt, settings, tuple(record.ids), forced=forced
            )
        )

    def restore_branch(self) -> None:
        record = self.record
        if record is None or not self._branches or self._running:
            return
        if self._holding:
            self._reveal()
        branch = self._branches.pop()
        record.cut(branch.at)
        del self._eog[branch.at :]
        record.steps.extend(branch.steps)
        record.stop_reason = branch.stop_reason
        self._eog.extend(s.id in record.eog_ids for s in branch.steps)
        self._show_record()
        self.select_step(min(branch.at, len(record.steps) - 1))

    # ---- worker events --------------------------------------------------------------
    def _on_step(self, request_id: int, report: StepReport) -> None:
        if request_id != self._request or self.record is None:
            return  # a superseded request
        record = self.record
        record.steps.append(report.step)
        record.pieces.update(report.pieces)
        if report.is_eog:
            record.eog_ids = record.eog_ids | {report.step.id}
        self._eog.append(report.is_eog)
        self._pending.append(report)
        if not self._refresh_timer.isActive():
            self._refresh_timer.start()

    def _flush_pending(self, *, all_views: bool = False) -> None:
        if self._hold_next or self._holding:
            return  # a token to guess: shown when the user reveals it
        reports, self._pending = self._pending, []
        for report in reports:
            self.stream_view.append_step(report.step, report.is_eog)
        self._plot_pending.extend(reports)
        self._flushes += 1
        turn = self._flushes % PLOT_EVERY
        if (all_views or turn == 1) and self._plot_pending:
            self.timeline.append_steps([r.step for r in self._plot_pending])
            self._plot_pending = []
        if (all_views or turn == PLOT_EVERY // 2) and self._selected < 0 and self.record:
            # Following the latest step: the chart only (no selection marks to move).
            record = self.record
            latest = len(self.stream_view.steps) - 1
            if latest >= 0:
                self.chart.show_step(
                    record.steps[latest],
                    record.pieces,
                    record.settings,
                    record.beam_nodes,
                    record.beam_path,
                    live=self._running,
                )
        if all_views or turn == 0:  # the status line re-lays out the status bar: ~2.5 Hz
            self._update_run_label()
        if self._running and (reports or self._plot_pending):
            self._refresh_timer.start()  # the plots still owe a turn

    def _on_beam_progress(self, request_id: int, searched: int) -> None:
        if request_id == self._request:
            self.run_label.setText(f"Beam search: step {searched}…")

    def _on_finished(self, request_id: int, finished: RunFinished) -> None:
        if request_id != self._request or self.record is None:
            return
        self._refresh_timer.stop()
        self._running = False
        record = self.record
        record.stop_reason = finished.reason
        record.stats = RunStats(finished.tokens_per_second, finished.time_to_first_token)
        if finished.beam_nodes:
            record.beam_nodes = finished.beam_nodes
            record.beam_path = finished.beam_path
            record.pieces.update(finished.pieces)
        if self._hold_next:
            self._hold_next = False
            self._holding = True
            self.step_button.setText("Reveal")
            self.run_label.setText("What comes next? Guess, then press Reveal")
            self._update_actions()
            return
        self._flush_pending(all_views=True)
        self.stream_view.finish()
        if self._selected < 0 and record.steps:
            self._show_chart(len(record.steps) - 1)
        self._update_run_label()
        self._update_actions()

    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id != self._request:
            return
        self._refresh_timer.stop()
        self._running = False
        self._flush_pending(all_views=True)
        self.run_label.setText("")
        self.statusBar().showMessage(message, 8000)
        self._update_actions()

    def _update_run_label(self) -> None:
        record = self.record
        if record is None:
            self.run_label.setText("")
            return
        parts = [f"{len(record.steps)} tokens"]
        if record.stats.tokens_per_second > 0:
            parts.append(f"{record.stats.tokens_per_second:.1f} tokens/s")
        if record.stats.time_to_first_token > 0:
            parts.append(f"first token {record.stats.time_to_first_token * 1000:.0f} ms")
        perplexity = record.perplexity()
        if math.isfinite(perplexity):
            parts.append(f"perplexity {perplexity:.2f}")
        if record.stop_reason:
            parts.append(f"stopped: {record.stop_reason.replace('_', ' ')}")
        elif self._running:
            parts.append("generating…")
        self.run_label.setText(" · ".join(parts))

    # ---- selection and chart ----------------------------------------------------------
    def select_step(self, index: int) -> None:
        if self.record is None or not 0 <= index < len(self.record.steps):
            return
        self._selected = index
        self._show_chart(index)

    def _show_chart(self, index: int) -> None:
        record = self.record
        if record is None or not 0 <= index < len(record.steps):
            return
        self.chart.show_step(
            record.steps[index],
            record.pieces,
            record.settings,
            record.beam_nodes,
            record.beam_path,
        )
        self.stream_view.select_step(index)
        self.timeline.select_step(index)

    def _on_hover(self, index: int) -> None:
        self.stream_view.hover_step(index)
        self.timeline.hover_step(index)

    def _sync_chart_settings(self) -> None:
        self.chart.set_settings(self.settings())

    def _show_record(self) -> None:
        record = self.record
        if record is None:
            return
        self.stream_view.pieces = record.pieces
        self.stream_view.set_steps(record.prompt, record.steps, self._eog)
        self.timeline.set_steps(record.steps)
        self._update_run_label()
        self._update_actions()

    # ---- files ----------------------------------------------------------------------
    def _model_identity(self) -> tuple[str, str]:
        if self._model is None:
            return "", ""
        path = self._model.path
        sha = self._model_hashes.get(str(path))
        if sha is None:
            from app.core.file_hash import cached_sha256

            self.statusBar().showMessage("Computing the model's sha256…")
            sha = cached_sha256(path)
            self._model_hashes[str(path)] = sha
        return path.name, sha

    def save_session(self, path: Path) -> None:
        if self.record is None:
            return
        name, sha = self._model_identity()
        view = SessionView(
            temperature=self.decoding.temperature,
            selected_step=self._selected,
            top_k_shown=self.chart.k,
            color_mode=self.stream_view.color_mode,
            show_whitespace=self.stream_view.show_whitespace,
        )
        save_session(path, self.record, name, sha, view)
        self.statusBar().showMessage(f"Saved {path.name}", 4000)

    def open_session(self, path: Path) -> None:
        if self._running:
            return
        try:
            session = load_session(path)
        except PlaygroundError as exc:
            self._show_error("The session could not be opened", str(exc))
            return
        record, view = session.record, session.view
        self._request = next(self._ids)  # anything still arriving belongs to the old view
        self._holding = self._hold_next = False
        self._pending = []
        self.step_button.setText("Step")
        self.record = record
        self._eog = [s.id in record.eog_ids for s in record.steps]
        self._branches = []
        self.prompt_edit.setPlainText(record.prompt)
        self.decoding.apply(record.settings)
        self.decoding.set_temperature(view.temperature)
        self.chart.k_spin.setValue(view.top_k_shown)
        if view.color_mode in COLOR_MODES:
            self.color_mode.setCurrentIndex(COLOR_MODES.index(view.color_mode))
        self.whitespace_box.setChecked(view.show_whitespace)
        self._show_record()
        self._selected = -1
        if 0 <= view.selected_step < len(record.steps):
            self.select_step(view.selected_step)
        elif record.steps:
            self._show_chart(len(record.steps) - 1)
        note = f"Opened {path.name}"
        current = self._model.path.name if self._model is not None else ""
        if session.model_name and current and session.model_name != current:
            note += f" (made with {session.model_name}; {current} is loaded)"
        self.statusBar().showMessage(note, 8000)

    def export_csv(self, path: Path) -> None:
        if self.record is not None:
            export_steps_csv(path, self.record, self.record.piece_of)
            self.statusBar().showMessage(
                f"Exported {len(self.record.steps)} steps to {path.name}", 4000
            )

    def export_chart(self, path: Path) -> bool:
        saved = self.chart.grab().save(str(path), "PNG")
        if saved:
            self.statusBar().showMessage(f"Saved the chart to {path.name}", 4000)
        return bool(saved)

    def _ask_path(self, title: str, name: str, pattern: str, save: bool = True) -> Path | None:
        last_dir = str(self._settings_store.value("files/last_dir", str(Path.home())))
        start = str(Path(last_dir) / name)
        if save:
            chosen, _f = QFileDialog.getSaveFileName(self, title, start, pattern)
        else:
            chosen, _f = QFileDialog.getOpenFileName(self, title, str(Path(start).parent), pattern)
        if not chosen:
            return None
        self._settings_store.setValue("files/last_dir", str(Path(chosen).parent))
        return Path(chosen)

    def save_session_dialog(self) -> None:
        path = self._ask_path("Save session", "session.llmp.json", "Sessions (*.json)")
        if path:
            try:
                self.save_session(path)
            except OSError as exc:
                self._show_error("The session could not be saved", str(exc))

    def open_session_dialog(self) -> None:
        path = self._ask_path("Open session", "", "Sessions (*.json);;All files (*)", save=False)
        if path:
            self.open_session(path)

    def export_csv_dialog(self) -> None:
        path = self._ask_path("Export steps", "steps.csv", "CSV (*.csv)")
        if path:
            try:
                self.export_csv(path)
            except OSError as exc:
                self._show_error("The steps could not be exported", str(exc))

    def export_chart_dialog(self) -> None:
        path = self._ask_path("Export chart", "chart.png", "PNG images (*.png)")
        if path and not self.export_chart(path):
            self._show_error("The chart could not be saved", f"could not write {path}")

    # ---- window state -----------------------------------------------------------------
    def _restore_geometry(self) -> None:
        geometry = self._settings_store.value("window/geometry")
        if isinstance(geometry, QByteArray) and not geometry.isEmpty():
            self.restoreGeometry(geometry)
        else:
            self.resize(1280, 800)
        splitter = self._settings_store.value("window/splitter")
        if isinstance(splitter, QByteArray) and not splitter.isEmpty():
            self.splitter.restoreState(splitter)

    def closeEvent(self, event: QCloseEvent) -> None:
        self._settings_store.setValue("window/geometry", self.saveGeometry())
        self._settings_store.setValue("window/splitter", self.splitter.saveState())
        self._refresh_timer.stop()
        self._engine.close()
        super().closeEvent(event)
