"""The Compare tab: one prompt, several panes decoded side by side.

Greedy and sampled panes run in lockstep in one batch (the prompt is decoded once); beam
panes run after them. When the panes end, the first step where they part is marked and
the words that differ from the greedy pane are emphasized, as on the course's slide.
Each pane shows its log-probability, mean surprisal, perplexity and repetition score.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from app.core.decoding.compare import differing_words, first_divergence, sequence_metrics
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import TokenStep, describe_stop
from app.ui.tabs.engine_tab import EngineTab
from app.ui.widgets.color_legends import compare_legend
from app.ui.widgets.file_choice import choose_gguf
from app.ui.widgets.probability_chart import ProbabilityChart
from app.ui.widgets.step_feed import StepFeed
from app.ui.widgets.theme import set_status_style
from app.ui.widgets.token_stream_view import TokenStreamView
from app.ui.widgets.update_pacer import TEXT_BUDGET, UpdatePacer
from app.workers.engine_requests import CompareRequest, PaneSpec, PromptToken, RunFinished
from app.workers.engine_worker import EngineWorker
from app.workers.step_reports import StepReport

MAX_PANES = 6
STEP_POLL_MS = 50  # the panes follow their runs about 20 times a second


CHAT_PRESET_LABEL = "Greedy, prompt through the chat template"


@dataclass(frozen=True)
class Preset:
    label: str
    settings: DecodingSettings
    chat: bool = False


PRESETS = (
    Preset("Greedy", DecodingSettings(mode="greedy")),
    Preset(CHAT_PRESET_LABEL, DecodingSettings(mode="greedy"), True),
    Preset("Sampling, T = 0.8, seed 1", DecodingSettings(mode="sample", temperature=0.8, seed=1)),
    Preset("Sampling, T = 0.8, seed 2", DecodingSettings(mode="sample", temperature=0.8, seed=2)),
    Preset("Sampling, T = 1.2, seed 1", DecodingSettings(mode="sample", temperature=1.2, seed=1)),
    Preset(
        "Sampling, top-p 0.5, seed 1",
        DecodingSettings(mode="sample", temperature=0.8, top_p=0.5, seed=1),
    ),
    Preset("Beam search, width 4", DecodingSettings(mode="beam", beam_width=4)),
)
DEFAULT_PANES = (PRESETS[0], PRESETS[2])  # greedy | sampling T = 0.8, seed 1


def describe_pane(spec: PaneSpec) -> str:
    text = describe(spec.settings)
    if spec.chat:
        text += " · chat template"
    if spec.model is not None:
        text += f" · {Path(spec.model).name if spec.model != 'default' else 'default model'}"
    return text


def describe(settings: DecodingSettings) -> str:
    if settings.mode == "greedy":
        return "Greedy"
    if settings.mode == "beam":
        penalty = "" if settings.length_penalty is None else f", α {settings.length_penalty:g}"
        return f"Beam search, width {settings.beam_width}{penalty}"
    parts = [f"T = {settings.temperature:g}"]
    if settings.top_k:
        parts.append(f"top-k {settings.top_k}")
    if settings.top_p < 1:
        parts.append(f"top-p {settings.top_p:g}")
    if settings.min_p:
        parts.append(f"min-p {settings.min_p:g}")
    parts.append(f"seed {settings.seed}")
    return "Sampling, " + ", ".join(parts)


def _utf16_length(text: str) -> int:
    """Qt counts positions in UTF-16 units; Python in code points."""
    return len(text.encode("utf-16-le")) // 2


class ComparePane(QFrame):
    remove_requested = Signal(object)
    step_clicked = Signal(object, int)
    """(pane, step position) when a token is clicked."""

    def __init__(self, spec: PaneSpec, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.spec = spec
        self.settings = spec.settings
        self.setFrameShape(QFrame.Shape.StyledPanel)
        self.setMinimumWidth(260)  # three panes fit beside the chart on a 1366-pixel screen
        self.title = QLabel(f"<b>{html.escape(describe_pane(spec))}</b>")
        self.title.setWordWrap(True)
        self.remove_button = QToolButton()
        self.remove_button.setAccessibleName("Remove this pane")
        self.remove_button.setText("✕")
        self.remove_button.setToolTip("Remove this pane")
        self.remove_button.clicked.connect(lambda: self.remove_requested.emit(self))
        header = QHBoxLayout()
        header.addWidget(self.title, 1)
        header.addWidget(self.remove_button)
        self.stream = TokenStreamView()
        self.stream.setAccessibleName("Generated text of this pane")
        self.stream.step_clicked.connect(lambda index: self.step_clicked.emit(self, index))
        self.note = QLabel("")
        self.note.setWordWrap(True)
        set_status_style(self.note, "note")
        self.metrics = QLabel("")
        self.metrics.setWordWrap(True)
        # Three lines: a pane a third of a laptop screen wide wraps the figures to three.
        self.metrics.setFixedHeight(self.metrics.fontMetrics().lineSpacing() * 3 + 4)
        self.metrics.setToolTip(
            "Under the model's own distribution (T = 1): total log p of the tokens, mean "
            "surprisal, perplexity; repetition: the share of repeated 3-token sequences"
        )
        layout = QVBoxLayout(self)
        layout.addLayout(header)
        layout.addWidget(self.note)
        layout.addWidget(self.stream, 1)
        layout.addWidget(self.metrics)
        self.steps: list[TokenStep] = []
        self.stop_reason = ""
        self.prompt = ""

    def start(self, prompt: str) -> None:
        self.prompt = prompt
        self.steps = []
        self.stop_reason = ""
        self.metrics.setText("")
        self.note.setText("")
        self.stream.start(prompt)

    def show_prompt_tokens(self, tokens: list[PromptToken]) -> None:
        """The prompt as the model reads it (after the chat template), special tokens
        highlighted."""
        self.prompt = "".join(t.text for t in tokens)
        self.stream.start_tokens([(t.text, t.special) for t in tokens])

    def append(self, reports: list[StepReport]) -> None:
        for report in reports:
            self.steps.append(report.step)
            self.stream.pieces.update(report.pieces)
        self.stream.append_steps([r.step for r in reports])

    def finish(self, finished: RunFinished) -> None:
        self.stop_reason = finished.reason
        self.stream.finish()
        self.stream.pieces.update(finished.pieces)
        m = sequence_metrics(self.steps)
        if finished.reason == "error":
            self.metrics.setText("did not run")
            return
        if m.tokens == 0:
            self.metrics.setText(f"no tokens · {describe_stop(finished.reason)}")
            return
        self.metrics.setText(
            f"log p {m.logprob:.2f} · mean surprisal {m.mean_surprisal_bits:.2f} bits · "
            f"perplexity {m.perplexity:.2f} · repetition {m.repetition:.0%} · "
            f"{m.tokens} tokens, {describe_stop(finished.reason)}"
        )

    @property
    def ids(self) -> list[int]:
        return [s.id for s in self.steps]

    @property
    def text(self) -> str:
        return self.stream.generated_text

    def mark(self, divergence: int | None, reference_text: str | None) -> None:
        """Mark the first diverging step and, against the reference text, the words that
        differ."""
        spans: list[tuple[int, int]] = []
        if reference_text is not None:
            base = _utf16_length(self.prompt)
            text = self.text
            spans = [
                (base + _utf16_length(text[:start]), base + _utf16_length(text[:end]))
                for start, end in differing_words(reference_text, text)
            ]
        self.stream.set_emphasis(spans, divergence)


class CompareView(EngineTab):
    def __init__(
        self,
        worker: EngineWorker,
        next_request_id: Callable[[], int],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(worker, next_request_id, parent)
        self.panes: list[ComparePane] = []
        self.divergence: int | None = None

        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setAccessibleName("Prompt")
        self.prompt_edit.setMaximumHeight(70)
        self.prompt_edit.setTabChangesFocus(True)
        self.max_tokens = QSpinBox(minimum=1, maximum=2048, value=40)
        self.max_tokens.setAccessibleName("Maximum new tokens")
        self.max_tokens.setPrefix("max tokens ")
        self.run_button = QPushButton("Compare")
        self.run_button.setToolTip("Run every pane on the prompt, side by side")
        self.run_button.clicked.connect(lambda: self.run())
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(lambda: self.stop())
        # A push button leaves room for its menu arrow (a tool button drew it over the text).
        self.add_button = QPushButton("Add pane")
        menu = QMenu(self.add_button)
        self._chat_actions = []
        for preset in PRESETS:
            action = menu.addAction(preset.label, self._adder(preset))
            if preset.chat:
                self._chat_actions.append(action)
        menu.addSeparator()
        menu.addAction("Greedy with another model (GGUF file)…", self.add_model_pane_dialog)
        menu.setToolTipsVisible(True)
        self.add_button.setMenu(menu)
        self.status = QLabel("")
        bar = QHBoxLayout()
        bar.addWidget(self.run_button)
        bar.addWidget(self.stop_button)
        bar.addWidget(self.add_button)
        bar.addWidget(self.max_tokens)
        bar.addStretch(1)
        bar.addWidget(self.status)

        self._pane_row = QHBoxLayout()
        self._pane_row.setContentsMargins(0, 0, 0, 0)
        panes_host = QWidget()
        panes_host.setLayout(self._pane_row)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(panes_host)
        self.chart = ProbabilityChart()
        self.chart.setMinimumWidth(300)
        self.chart.setMaximumWidth(520)
        self.chart.empty_hint = "Click a token in any pane to see the distribution it came from"
        self.chart.title.setText(self.chart.empty_hint)
        self.legend = QLabel(compare_legend())
        self._lay_out(self.prompt_edit, bar, scroll, self.chart, (960, 320), self.legend)

        # The panes' tokens are taken from this tab's queue on a timer. Each pane's text
        # re-lays out its paragraph on every append: as they grow dear, the panes update
        # less often (see update_pacer).
        pacer = UpdatePacer(STEP_POLL_MS / 1000, TEXT_BUDGET, cost_factor=2.0)
        self.feed = StepFeed(STEP_POLL_MS, self._on_feed, pacer, parent=self)
        worker.sig_pane_finished.connect(self._on_pane_finished)
        worker.sig_compare_finished.connect(self._on_finished)
        worker.sig_pane_note.connect(self._on_pane_note)
        worker.sig_failed.connect(self._on_failed)
        for preset in DEFAULT_PANES:
            self.add_pane(preset.settings)
        self._update_actions()

    # ---- panes --------------------------------------------------------------------
    def set_chat_template(self, available: bool) -> None:
        """Offer chat-template panes only for a model that has a chat template."""
        for action in self._chat_actions:
            action.setEnabled(available)
            action.setText(
                CHAT_PRESET_LABEL if available else f"{CHAT_PRESET_LABEL} (this model has none)"
            )
            action.setToolTip(
                "The prompt wrapped in the model's chat template, as an instruct model expects"
                if available
                else "The loaded model has no chat template (a base model): load an instruct "
                "model to compare its chat format"
            )

    def _adder(self, preset: Preset) -> Callable[[], None]:
        def add() -> None:
            self.add_pane(preset.settings, chat=preset.chat)

        return add

    def add_model_pane_dialog(self) -> None:
        path = choose_gguf(self, "A model for the new pane")
        if path is not None:
            self.add_pane(DecodingSettings(mode="greedy"), model=str(path))

    def add_pane(
        self, settings: DecodingSettings, *, model: str | None = None, chat: bool = False
    ) -> ComparePane | None:
        if len(self.panes) >= MAX_PANES or self._running:
            return None
        pane = ComparePane(PaneSpec(settings, model, chat))
        pane.remove_requested.connect(self.remove_pane)
        pane.step_clicked.connect(self._show_step)
        self.panes.append(pane)
        self._pane_row.addWidget(pane, 1)
        self._update_actions()
        return pane

    def remove_pane(self, pane: ComparePane) -> None:
        if self._running or pane not in self.panes:
            return
        self.panes.remove(pane)
        pane.setParent(None)
        pane.deleteLater()
        self._update_actions()

    # ---- runs ---------------------------------------------------------------------
    def _update_actions(self) -> None:
        self.run_button.setEnabled(self.idle and bool(self.panes))
        self.stop_button.setEnabled(self._running)
        self.add_button.setEnabled(not self._running and len(self.panes) < MAX_PANES)
        for pane in self.panes:
            pane.remove_button.setEnabled(not self._running and len(self.panes) > 1)

    def run(self) -> None:
        if not self.run_button.isEnabled():
            return
        prompt = self.prompt_edit.toPlainText()
        if not prompt:
            self.status.setText("Type a prompt first")
            return
        max_tokens = self.max_tokens.value()
        panes = tuple(
            PaneSpec(p.settings.with_(max_tokens=max_tokens), p.spec.model, p.spec.chat)
            for p in self.panes
        )
        self._request = self._next_id()
        self.divergence = None
        for pane in self.panes:
            pane.start(prompt)
        self.status.setText("Comparing…")
        self._begin()
        self.feed.start(self._request)
        self._worker.compare(CompareRequest(self._request, prompt, panes, self.feed.queue))

    def stop(self) -> None:
        if self._running:
            self.status.setText("Stopping…")
        super().stop()

    def _on_feed(self, items: list[tuple[int, int, StepReport | list[PromptToken]]]) -> None:
        """Show what the worker has made since the last look: each pane's new tokens in
        one append, a chat pane's prompt before its tokens."""
        batches: dict[int, list[StepReport]] = {}
        for _request_id, index, item in items:
            if not 0 <= index < len(self.panes):
                continue
            if isinstance(item, StepReport):
                batches.setdefault(index, []).append(item)
                continue
            if index in batches:
                self.panes[index].append(batches.pop(index))
            self.panes[index].show_prompt_tokens(item)
        for index, reports in batches.items():
            self.panes[index].append(reports)

    def _on_pane_note(self, request_id: int, pane: int, text: str) -> None:
        if request_id == self._request and 0 <= pane < len(self.panes):
            self.panes[pane].note.setText(text)

    def _on_pane_finished(self, request_id: int, pane: int, finished: RunFinished) -> None:
        if request_id == self._request and 0 <= pane < len(self.panes):
            self.feed.deliver_now()  # its last tokens were queued before it was reported done
            self.panes[pane].finish(finished)

    def _on_finished(self, request_id: int) -> None:
        if request_id != self._request:
            return
        self.feed.end()
        self._end()
        self.divergence = first_divergence([p.ids for p in self.panes])
        reference = next((p for p in self.panes if p.settings.mode == "greedy"), None)
        for pane in self.panes:
            compare_to = reference.text if reference is not None and pane is not reference else None
            pane.mark(self.divergence, compare_to)
        if self.divergence is None:
            self.status.setText("The panes agree on every token")
        else:
            self.status.setText(f"The panes part at step {self.divergence + 1}")

    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id == self._request:
            self.feed.end()
            self._end()
            self.status.setText(message)

    def _show_step(self, pane: ComparePane, index: int) -> None:
        if 0 <= index < len(pane.steps):
            self.chart.set_settings(pane.settings)
            self.chart.show_step(pane.steps[index], pane.stream.pieces, pane.settings)
            for other in self.panes:
                other.stream.select_step(index if other is pane else -1)
