"""The Score tab: any text, scored the way pre-training scores it. Each token is coloured
by how surprising it was to the model (its rank, or its surprisal in bits), with
perplexity and bits per byte for the whole text, a surprisal line linked to the text, and
a second model on the same text beside the first (which one finds it less surprising)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pyqtgraph as pg
from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.decoding.text_score import MIN_CHUNK, TextScore
from app.ui.widgets import palette
from app.ui.widgets.file_choice import choose_gguf
from app.ui.widgets.plot_style import small_plot
from app.ui.widgets.scored_text_view import BEYOND, RANK_BUCKETS, ScoredTextView
from app.workers.score_worker import ScoreRequest, ScoreThread

COURSE_TEXT = (
    "Llama 3.1 405B is the largest model in Meta's Llama 3.1 family: 405 billion "
    "parameters, trained on more than 15 trillion tokens, with a context window of 128,000 "
    "tokens. Its weights are released under the Llama 3.1 Community License."
)
MODES = (("rank", "Colour: rank (top 1 / 10 / 100)"), ("surprisal", "Colour: surprisal (bits)"))


def rank_legend() -> str:
    parts = [f'<span style="background:{c}; color:#111827">&nbsp;{t}&nbsp;</span>'
             for _n, t, c in RANK_BUCKETS]  # fmt: skip
    parts.append(
        f'<span style="background:{BEYOND[1]}; color:#111827">&nbsp;{BEYOND[0]}&nbsp;</span>'
    )
    return "rank of each token among the model's predictions: " + " ".join(parts)


class ScorePane(QWidget):
    """One model's score of the text: its figures, the coloured text, the surprisal line."""

    def __init__(self, title: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.heading = QLabel(title)
        self.heading.setWordWrap(True)
        self.figures = QLabel("")
        self.figures.setWordWrap(True)
        self.text = ScoredTextView()
        self.plot = small_plot(130, "Surprisal of each token, in bits", "bits", "token")
        item = self.plot.getPlotItem()
        self._line = item.plot([], [], pen=pg.mkPen(palette.SURPRISAL_PEN, width=1.5))
        self._marker = pg.InfiniteLine(angle=90, pen=pg.mkPen(palette.SELECTED, width=2))
        self._marker.setVisible(False)
        item.addItem(self._marker, ignoreBounds=True)
        self.plot.scene().sigMouseClicked.connect(self._clicked)
        self.text.token_clicked.connect(self.select)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (self.heading, self.figures):
            layout.addWidget(widget)
        layout.addWidget(self.text, 1)
        layout.addWidget(self.plot)
        self.score: TextScore | None = None

    def show_score(self, score: TextScore, mode: str) -> None:
        self.score = score
        self.figures.setText(
            f"perplexity <b>{score.perplexity:.2f}</b> · <b>{score.bits_per_byte:.3f}</b> bits "
            f"per byte · {len(score.tokens):,} tokens scored (BOS excluded) · chunks of "
            f"{score.chunk}"
        )
        self.text.set_score(score, mode)
        self._line.setData(
            list(range(1, len(score.tokens) + 1)), [t.surprisal_bits for t in score.tokens]
        )

    def select(self, index: int) -> None:
        self.text.select_token(index)
        self._marker.setValue(index + 1)
        self._marker.setVisible(True)

    def _clicked(self, event: object) -> None:
        if self.score is None or not self.score.tokens:
            return
        point = self.plot.getPlotItem().vb.mapSceneToView(event.scenePos())  # type: ignore[attr-defined]
        index = min(len(self.score.tokens) - 1, max(0, round(point.x()) - 1))
        self.select(index)


class ScoreView(QWidget):
    def __init__(
        self,
        current_model: Callable[[], Path | None],
        workspace_text: Callable[[], str] = lambda: "",
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._current_model = current_model
        self._workspace_text = workspace_text
        self._thread = ScoreThread()
        worker = self._thread.worker
        worker.sig_scored.connect(self._on_scored)
        worker.sig_failed.connect(self._on_failed)
        worker.sig_progress.connect(self._on_progress)
        self._request = 0
        self._pending: set[int] = set()
        self.second_model: Path | None = None

        self.input = QPlainTextEdit(COURSE_TEXT)
        self.input.setAccessibleName("Text to score")
        self.input.setMaximumHeight(110)
        self.score_button = QPushButton("Score")
        self.score_button.setToolTip("Score every token of the text with the loaded model")
        self.score_button.clicked.connect(self.start)
        self.open_button = QPushButton("Open text file…")
        self.open_button.clicked.connect(self._open_text)
        self.mode = QComboBox()
        self.mode.setAccessibleName("Colour the tokens by")
        for key, label in MODES:
            self.mode.addItem(label, key)
        self.mode.currentIndexChanged.connect(lambda _i: self._recolour())
        self.take_button = QPushButton("Take the Workspace's text")
        self.take_button.setToolTip("The Workspace's prompt and what the model wrote after it")
        self.take_button.clicked.connect(self.take_workspace_text)
        self.second_button = QPushButton("Compare with another model…")
        self.second_button.clicked.connect(self._pick_second)
        self.progress = QProgressBar()
        self.progress.setMaximumWidth(160)
        self.progress.setVisible(False)
        self.progress.setAccessibleName("Scoring progress")
        self.legend = QLabel(rank_legend())
        self.legend.setWordWrap(True)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        controls = QHBoxLayout()
        for widget in (
            self.score_button, self.open_button, self.take_button, self.mode, self.second_button
        ):  # fmt: skip
            controls.addWidget(widget)
        controls.addWidget(self.progress)
        controls.addStretch(1)
        self.panes = [ScorePane("The loaded model"), ScorePane("Another model")]
        self.panes[1].setVisible(False)
        splitter = QSplitter(Qt.Orientation.Horizontal)
        for pane in self.panes:
            splitter.addWidget(pane)
        layout = QVBoxLayout(self)
        layout.addLayout(controls)
        layout.addWidget(QLabel(
            f"Text (scored teacher-forced, in chunks of {MIN_CHUNK} tokens: every position's "
            "next-token distribution, and how likely the real next token was)"
        ))  # fmt: skip
        layout.addWidget(self.input)
        layout.addWidget(self.legend)
        layout.addWidget(self.verdict)
        layout.addWidget(splitter, 1)

    # ---- running ----------------------------------------------------------------------
    def start(self) -> None:
        model = self._current_model()
        if model is None:
            self.verdict.setText(
                "Load a model on this computer first (a server cannot be scored here)."
            )
            return
        text = self.input.toPlainText()
        self.panes[0].heading.setText(f"<b>{model.name}</b> (the loaded model)")
        jobs = [(0, model)] + ([(1, self.second_model)] if self.second_model else [])
        self._pending.clear()
        self.verdict.setText("Scoring…")
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        for pane, path in jobs:
            self._request += 1
            self._pending.add(self._request)
            self._thread.worker.score(ScoreRequest(self._request, pane, path, text))

    def _on_progress(self, request_id: int, _pane: int, done: int, total: int) -> None:
        if request_id in self._pending:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _on_scored(self, request_id: int, pane: int, score: TextScore) -> None:
        if request_id not in self._pending:
            return
        self._pending.discard(request_id)
        self.panes[pane].show_score(score, str(self.mode.currentData()))
        if not self._pending:
            self.progress.setVisible(False)
            self._compare()

    def _on_failed(self, request_id: int, pane: int, message: str) -> None:
        if request_id in self._pending:
            self._pending.discard(request_id)
            self.progress.setVisible(bool(self._pending))
            self.verdict.setText(f"{self.panes[pane].heading.text()}: {message}")

    def _compare(self) -> None:
        first, second = (pane.score for pane in self.panes)
        if first is None:
            return
        if second is None or not self.panes[1].isVisible():
            self.verdict.setText(
                f"Perplexity {first.perplexity:.2f}: on average the model was as unsure as "
                f"a choice among {first.perplexity:.1f} equally likely tokens."
            )
            return
        names = [pane.heading.text() for pane in self.panes]
        if abs(first.bits_per_byte - second.bits_per_byte) < 5e-4:
            self.verdict.setText(
                f"Both models find this text equally surprising: {first.bits_per_byte:.3f} "
                "bits per byte"
            )
            return
        better = 0 if first.bits_per_byte <= second.bits_per_byte else 1
        scores = (first, second)
        self.verdict.setText(
            f"{names[better]} finds this text less surprising: {scores[better].bits_per_byte:.3f}"
            f" vs {scores[1 - better].bits_per_byte:.3f} bits per byte (per byte, because the "
            "two tokenizers may cut the text differently)"
        )

    # ---- choices ----------------------------------------------------------------------
    def take_workspace_text(self) -> None:
        text = self._workspace_text()
        if not text:
            self.verdict.setText("The Workspace has no run yet: generate there first.")
            return
        self.input.setPlainText(text)
        self.start()

    def _recolour(self) -> None:
        mode = str(self.mode.currentData())
        self.legend.setText(
            rank_legend() if mode == "rank"
            else "surprisal of each token: pale expected, deep red surprising (−log₂ p)"
        )  # fmt: skip
        for pane in self.panes:
            if pane.score is not None:
                pane.text.set_score(pane.score, mode)

    def set_second_model(self, path: Path | None) -> None:
        self.second_model = path
        self.panes[1].setVisible(path is not None)
        if path is not None:
            self.panes[1].heading.setText(f"<b>{path.name}</b>")

    def _pick_second(self) -> None:
        path = choose_gguf(self, "A second model")
        if path is not None:
            self.set_second_model(path)

    def _open_text(self) -> None:
        name, _ = QFileDialog.getOpenFileName(self, "Open a text", "", "Text (*.txt *.md);;All (*)")
        if not name:
            return
        try:
            self.input.setPlainText(Path(name).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError) as exc:
            self.verdict.setText(f"{Path(name).name} cannot be read as UTF-8 text: {exc}")

    def close_worker(self) -> None:
        self._thread.worker.stop()
        self._thread.close()
