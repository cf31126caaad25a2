"""The main window: prompt, decoding controls, live token stream and next-token table."""

from __future__ import annotations

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QCloseEvent, QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QMainWindow,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSpinBox,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.decoding import DecodingSettings
from app.core.token_step import TokenStep
from app.ui.token_stream_view import TokenStreamView
from app.workers.engine_worker import EngineThread, ModelLoaded, StepReport

SAMPLE_PROMPT = (
    "Detective Jameson sat in his cramped office, surrounded by stacks of dusty files "
    "and yellowed newspapers."
)
TOP_ROWS = 10
REFRESH_MS = 33  # the distribution table follows the stream at most ~30 times a second


def visible_piece(piece: bytes) -> str:
    text = piece.decode("utf-8", "backslashreplace")
    return text.replace(" ", "␣").replace("\n", "↵").replace("\t", "→")


class MainWindow(QMainWindow):
    def __init__(self, model_spec: str = "default") -> None:
        super().__init__()
        self.setWindowTitle("LLM Playground")
        self.resize(1200, 760)
        self._request = 0
        self._running = False
        self._model_ready = False
        # Re-rendering the table for every token would take CPU from the decode on small
        # machines; keep the latest step and show it on a short timer.
        self._pending_top: StepReport | None = None
        self._top_timer = QTimer(self)
        self._top_timer.setSingleShot(True)
        self._top_timer.setInterval(REFRESH_MS)
        self._top_timer.timeout.connect(self._show_pending_top)
        self._engine = EngineThread()
        worker = self._engine.worker
        worker.sig_model_loaded.connect(self._on_worker_model_loaded)
        worker.sig_model_failed.connect(self._on_worker_model_failed)
        worker.sig_step.connect(self._on_worker_step)
        worker.sig_finished.connect(self._on_worker_finished)
        worker.sig_failed.connect(self._on_worker_failed)
        self._build()
        self._set_busy_model(f"Loading {model_spec} model…")
        worker.load(model_spec)

    # ---- layout -------------------------------------------------------------------
    def _build(self) -> None:
        self.prompt_edit = QPlainTextEdit(SAMPLE_PROMPT)
        self.prompt_edit.setMaximumHeight(110)
        self.stream_view = TokenStreamView()

        self.mode_box = QComboBox()
        self.mode_box.addItems(["greedy", "sample"])
        self.temperature = QDoubleSpinBox(minimum=0.0, maximum=2.0, singleStep=0.05, value=0.8)
        self.top_k = QSpinBox(minimum=0, maximum=1000, value=40)
        self.top_p = QDoubleSpinBox(minimum=0.01, maximum=1.0, singleStep=0.01, value=0.95)
        self.min_p = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.01, value=0.05)
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.max_tokens = QSpinBox(minimum=1, maximum=4096, value=64)
        controls = QGroupBox("Decoding")
        form = QFormLayout(controls)
        form.addRow("Mode", self.mode_box)
        form.addRow("Temperature", self.temperature)
        form.addRow("Top-k", self.top_k)
        form.addRow("Top-p", self.top_p)
        form.addRow("Min-p", self.min_p)
        form.addRow("Seed", self.seed)
        form.addRow("Max tokens", self.max_tokens)

        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Ctrl+Enter")
        self.generate_button.clicked.connect(self.start_generation)
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Esc")
        self.stop_button.clicked.connect(self.stop_generation)
        buttons = QHBoxLayout()
        buttons.addWidget(self.generate_button)
        buttons.addWidget(self.stop_button)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.start_generation)
        QShortcut(QKeySequence("Escape"), self, self.stop_generation)

        self.top_table = QTableWidget(0, 3)
        self.top_table.setHorizontalHeaderLabels(["Next token", "p", "logit"])
        header = self.top_table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.ResizeToContents)
        self.top_table.verticalHeader().setVisible(False)
        self.top_caption = QLabel("Model distribution at temperature T of the latest step")
        self.top_caption.setWordWrap(True)

        side = QWidget()
        side.setMinimumWidth(320)
        side_layout = QVBoxLayout(side)
        side_layout.addWidget(controls)
        side_layout.addLayout(buttons)
        side_layout.addWidget(self.top_caption)
        side_layout.addWidget(self.top_table, 1)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(QLabel("Prompt"))
        left_layout.addWidget(self.prompt_edit)
        left_layout.addWidget(
            QLabel("Output (token boundaries alternate colour; hover for details)")
        )
        left_layout.addWidget(self.stream_view, 1)

        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(side)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        splitter.setSizes([820, 360])
        self.setCentralWidget(splitter)

        self.progress = QProgressBar()
        self.progress.setRange(0, 0)
        self.progress.setMaximumWidth(160)
        self.model_label = QLabel("")
        self.speed_label = QLabel("")
        self.statusBar().addWidget(self.model_label, 1)
        self.statusBar().addPermanentWidget(self.speed_label)
        self.statusBar().addPermanentWidget(self.progress)
        self._update_buttons()

    def _update_buttons(self) -> None:
        self.generate_button.setEnabled(self._model_ready and not self._running)
        self.stop_button.setEnabled(self._running)

    def _set_busy_model(self, message: str) -> None:
        self.model_label.setText(message)
        self.progress.setVisible(True)

    # ---- intents ------------------------------------------------------------------
    def settings(self) -> DecodingSettings:
        return DecodingSettings(
            mode="sample" if self.mode_box.currentText() == "sample" else "greedy",
            temperature=self.temperature.value(),
            top_k=self.top_k.value(),
            top_p=self.top_p.value(),
            min_p=self.min_p.value(),
            seed=self.seed.value(),
            max_tokens=self.max_tokens.value(),
        )

    def start_generation(self) -> None:
        if not self._model_ready or self._running:
            return
        prompt = self.prompt_edit.toPlainText()
        if not prompt:
            self.statusBar().showMessage("Type a prompt first", 4000)
            return
        self._request += 1
        self._running = True
        self.stream_view.start(prompt)
        self._top_timer.stop()
        self._pending_top = None
        self.top_table.setRowCount(0)
        self.speed_label.setText("Generating…")
        self._update_buttons()
        self._engine.worker.generate(self._request, prompt, self.settings())

    def stop_generation(self) -> None:
        if self._running:
            self.speed_label.setText("Stopping…")
            self._engine.worker.stop()

    # ---- worker events --------------------------------------------------------------
    def _on_worker_model_loaded(self, loaded: ModelLoaded) -> None:
        self._model_ready = True
        self.progress.setVisible(False)
        self.model_label.setText(f"{loaded.name} · {loaded.device} · context {loaded.n_ctx}")
        self._update_buttons()

    def _on_worker_model_failed(self, message: str) -> None:
        self._model_ready = False
        self.progress.setVisible(False)
        self.model_label.setText(f"Could not load the model: {message}")
        self._update_buttons()

    def _on_worker_step(self, request_id: int, report: StepReport) -> None:
        if request_id != self._request:
            return
        self.stream_view.append_step(report.step, report.is_eog)
        self._pending_top = report
        if not self._top_timer.isActive():
            self._top_timer.start()

    def _show_pending_top(self) -> None:
        report, self._pending_top = self._pending_top, None
        if report is not None:
            self._show_top(report.step, report.pieces)

    def _show_top(self, step: TokenStep, pieces: dict[int, bytes]) -> None:
        top = step.top(TOP_ROWS)
        self.top_caption.setText(
            f"Step {step.index + 1}: model distribution at temperature {step.temperature:g} "
            f"(entropy {step.entropy:.2f} nats)"
        )
        self.top_table.setRowCount(len(top))
        for row, entry in enumerate(top):
            name = QTableWidgetItem(visible_piece(pieces.get(entry.id, b"?")))
            if entry.id == step.id:
                font = name.font()
                font.setBold(True)
                name.setFont(font)
            self.top_table.setItem(row, 0, name)
            self.top_table.setItem(row, 1, QTableWidgetItem(f"{entry.p:.4f}"))
            self.top_table.setItem(row, 2, QTableWidgetItem(f"{entry.logit:.2f}"))

    def _on_worker_finished(self, request_id: int, reason: str, tokens_per_second: float) -> None:
        if request_id != self._request:
            return
        self._running = False
        self._top_timer.stop()
        self._show_pending_top()
        self.stream_view.finish()
        self.speed_label.setText(
            f"{len(self.stream_view.steps)} tokens · {tokens_per_second:.1f} tokens/s · "
            f"stopped: {reason.replace('_', ' ')}"
        )
        self._update_buttons()

    def _on_worker_failed(self, request_id: int, message: str) -> None:
        if request_id != self._request:
            return
        self._running = False
        self.speed_label.setText("")
        self.statusBar().showMessage(message, 8000)
        self._update_buttons()

    def closeEvent(self, event: QCloseEvent) -> None:
        self._engine.close()
        super().closeEvent(event)
