"""The Workspace tab: prompt, live token stream, next-token chart, timeline, controls.

The engine thread queues each step (step_queue); a 25 ms timer takes them while a run
goes, and the text shows them at most 20 times a second (less when its updates grow
dear), so a fast model never floods the event loop. The plots follow more slowly.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.guess_score import GuessResult, GuessScore, rate_guess
from app.core.decoding.step_records import TokenStep, describe_stop
from app.core.runs.run_record import Branch, RunRecord, RunStats
from app.core.runs.session_file import SessionView
from app.core.units import format_percent
from app.ui.tabs.decoding_panel import DecodingPanel
from app.ui.tabs.engine_tab import EngineTab
from app.ui.widgets.color_legends import boundaries_legend, entropy_legend, probability_legend
from app.ui.widgets.live_label import LiveLabel
from app.ui.widgets.probability_chart import ProbabilityChart
from app.ui.widgets.step_feed import StepFeed
from app.ui.widgets.timeline_view import TimelineView
from app.ui.widgets.token_stream_view import COLOR_MODES, TokenStreamView
from app.ui.widgets.token_text import visible_piece
from app.ui.widgets.update_pacer import TEXT_BUDGET, UpdatePacer
from app.workers.engine_requests import GenerationRequest, RunFinished
from app.workers.engine_worker import EngineWorker
from app.workers.step_reports import StepReport

SAMPLE_PROMPT = (
    "Detective Jameson sat in his cramped office, surrounded by stacks of dusty files "
    "and yellowed newspapers."
)
# The plots repaint in software (~7–10 ms each) on a core llama.cpp's threads need: on a
# fast stream each follows once a second, half a second apart, so no event-loop pass
# holds both (and the GIL) at once; a slow stream (a token every 125 ms or more) leaves
# the CPU idle between tokens, and the plots follow every token.
PLOT_INTERVAL_S = 1.0
SLOW_STREAM_S = 0.125
# The text follows the steps at most 20 times a second, less when its updates grow
# dear (a long paragraph): then they are spaced to stay within TEXT_BUDGET of the time,
# the paint after an update costing about as much as the update.
TEXT_INTERVAL_S = 0.05
OUTPUT_CAPTION = "Output: hover a token for its probabilities, click it to inspect its step"
STEP_POLL_MS = 25  # a running generation's new steps are taken from the worker this often

Notify = Callable[[str, int], None]


class WorkspaceView(EngineTab):
    actions_changed = Signal()
    """What can be done changed (a run exists, one is running...)."""

    def __init__(
        self,
        worker: EngineWorker,
        next_request_id: Callable[[], int],
        run_label: LiveLabel,
        notify: Notify,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(worker, next_request_id, parent)
        self.run_label = run_label
        self._notify = notify
        self.record: RunRecord | None = None
        self._branches: list[Branch] = []
        self._selected = -1  # the step the chart shows; -1 follows the latest
        self._pending: list[StepReport] = []
        self._hold_next = False  # the running step is to be guessed before it is shown
        self._stepped = False  # the last run was one Step
        self._holding = False  # a generated token waits for Reveal
        self._plot_pending: list[StepReport] = []
        self._last_arrival = 0.0
        self._slow_stream = True
        self._timeline_due = 0.0  # time.monotonic() when each plot may repaint again
        self._chart_due = 0.0
        # While a run goes, new steps are taken from this tab's queue on a timer and shown
        # at once, unless the text's pacer asks to wait.
        self._text_pacer = UpdatePacer(TEXT_INTERVAL_S, TEXT_BUDGET, cost_factor=2.0)
        self.feed = StepFeed(STEP_POLL_MS, self._on_feed, parent=self)
        worker.sig_beam_progress.connect(self._on_beam_progress)
        worker.sig_redecoding.connect(self._on_redecoding)
        worker.sig_finished.connect(self._on_finished)
        worker.sig_failed.connect(self._on_failed)
        self._build()

    # ---- layout -------------------------------------------------------------------
    def _build(self) -> None:
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
            "Step keeps the new token hidden: type what you think comes next, then press "
            "Reveal to see its rank and probability"
        )
        self.guess_edit = QLineEdit()
        self.guess_edit.setPlaceholderText("your guess")
        self.guess_edit.setMaximumWidth(130)
        self.guess_edit.setToolTip(
            "The next token as you expect it (a leading space does not matter); Enter reveals"
        )
        self.guess_edit.returnPressed.connect(lambda: self.step_once() if self._holding else None)
        self.guess_edit.setEnabled(False)  # shown always: the buttons never move
        self.guess_box.toggled.connect(self.guess_edit.setEnabled)
        self.guess_score = GuessScore()
        self.last_guess: GuessResult | None = None
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
        for button in (
            self.generate_button,
            self.stop_button,
            self.continue_button,
            self.step_button,
            self.guess_box,
            self.guess_edit,
            self.restore_button,
        ):
            top_bar.addWidget(button)
        top_bar.addStretch(1)
        top_bar.addWidget(self.color_mode)
        top_bar.addWidget(self.whitespace_box)

        self.prompt_edit = QPlainTextEdit(SAMPLE_PROMPT)
        self.prompt_edit.setPlaceholderText("Type a prompt; the model continues it")
        self.prompt_edit.setMaximumHeight(90)
        self.prompt_edit.setTabChangesFocus(True)  # keyboard users must be able to leave it
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
        self.output_caption = QLabel(OUTPUT_CAPTION)
        text_layout.addWidget(self.output_caption)
        text_layout.addWidget(self.stream_view, 1)
        self.color_legend = QLabel(boundaries_legend())
        self.color_legend.setTextFormat(Qt.TextFormat.RichText)
        self.color_legend.setWordWrap(True)
        text_layout.addWidget(self.color_legend)
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
        # The panel scrolls when the window is short (a 768-pixel laptop screen), so a
        # mode that adds parts (the draw, the beams) never grows or overlaps the window.
        self.side_scroll = QScrollArea()
        self.side_scroll.setWidget(side)
        self.side_scroll.setWidgetResizable(True)
        self.side_scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.side_scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        # Always there: a bar that came and went with the mode changed the panel's width.
        self.side_scroll.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOn)
        self.side_scroll.setMinimumWidth(side.minimumWidth() + 16)

        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(left)
        self.splitter.addWidget(self.side_scroll)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setSizes([760, 480])

        layout = QVBoxLayout(self)
        layout.addLayout(top_bar)
        layout.addWidget(self.splitter, 1)
        self._sync_chart_settings()
        self._update_actions()

    def _on_color_mode(self, index: int) -> None:
        mode = COLOR_MODES[index]
        self.stream_view.set_color_mode(mode)
        legends = {"probability": probability_legend, "entropy": entropy_legend}
        self.color_legend.setText(legends.get(mode, boundaries_legend)())

    def _on_whitespace(self, show: bool) -> None:
        self.stream_view.set_show_whitespace(show)

    # ---- state --------------------------------------------------------------------
    @property
    def has_steps(self) -> bool:
        return self.record is not None and bool(self.record.steps)

    def _update_actions(self) -> None:
        idle = self.idle
        has_steps = self.has_steps
        can_continue = (
            idle and has_steps and self.record is not None and self.record.stop_reason != "eog"
        )
        self.generate_button.setEnabled(idle)
        self.stop_button.setEnabled(self._running)
        self.continue_button.setEnabled(can_continue)
        self.step_button.setEnabled(idle and (not has_steps or can_continue or self._holding))
        self.restore_button.setEnabled(idle and bool(self._branches))
        self.actions_changed.emit()

    # ---- runs ---------------------------------------------------------------------
    def settings(self) -> DecodingSettings:
        return self.decoding.settings()

    def _send(self, request: GenerationRequest) -> None:
        self._stepped = False  # step_once sets it after sending
        self._selected = -1
        self.run_label.setText("Generating…")
        self._begin()
        self.feed.start(request.request_id)
        self._worker.generate(request)

    def _send_more(
        self, record: RunRecord, settings: DecodingSettings, forced: TokenStep | None = None
    ) -> None:
        """Generate after the run's text (after `forced`, when the user picked a token)."""
        record.settings = self.settings()  # the run's own settings, not a Step's max tokens
        self._request = self._next_id()
        self._send(
            GenerationRequest(
                self._request,
                record.prompt,
                settings,
                tuple(record.ids),
                forced=forced,
                batched=TokenStep.batched_prefix(record.steps),
                steps=self.feed.queue,
            )
        )

    def start_generation(self) -> None:
        self._start(None)

    def _start(self, max_tokens: int | None) -> None:
        if not self.idle:
            return
        prompt = self.prompt_edit.toPlainText()
        if not prompt:
            self._notify("Type a prompt first", 4000)
            return
        settings = self.settings()
        if max_tokens is not None:
            settings = settings.with_(max_tokens=max_tokens)
        self._request = self._next_id()
        self._holding = self._hold_next = False
        self.step_button.setText("Step")
        self.record = RunRecord(prompt=prompt, settings=self.settings())
        self._branches = []
        self._pending = []
        self._plot_pending = []
        self._last_arrival = self._timeline_due = self._chart_due = 0.0
        self._text_pacer.reset()
        self.stream_view.pieces = self.record.pieces
        self.stream_view.start(prompt)
        self.timeline.set_steps([])
        self.chart.show_step(None, {}, settings)
        self._send(GenerationRequest(self._request, prompt, settings, steps=self.feed.queue))

    def continue_generation(self) -> None:
        self._continue(None)

    def _continue(self, max_tokens: int | None) -> None:
        record = self.record
        if record is None or not record.steps or not self.idle:
            return
        if self._holding:
            self._reveal()
        if record.stop_reason == "eog":
            return
        settings = self.settings()
        if max_tokens is not None:
            settings = settings.with_(max_tokens=max_tokens)
        record.stop_reason = ""
        self._send_more(record, settings)

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
        self._stepped = True
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
        self._rate_guess()
        self._update_actions()

    def _rate_guess(self) -> None:
        """Tell how the typed guess ranked, and keep the running score."""
        record = self.record
        guess = self.guess_edit.text()
        if record is None or not record.steps or not guess.strip():
            return
        step = record.steps[-1]
        result = rate_guess(step, guess, record.pieces)
        self.guess_score.add(result, step.id)
        self.last_guess = result
        self.guess_edit.clear()
        shown = visible_piece(step.piece)
        if result.token_id == step.id:
            verdict = f"Right: “{guess.strip()}” is the token chosen"
        elif result.token_id is not None:
            verdict = f"The model chose “{shown}”; your “{guess.strip()}” was"
        else:
            verdict = (
                f"The model chose “{shown}”; your “{guess.strip()}” is not among its "
                f"{result.searched} most likely tokens"
            )
        if result.token_id is not None:
            verdict += f" (rank {result.rank}, p = {format_percent(result.p)}, model T = 1)"
        self._notify(f"{verdict} · {self.guess_score.summary()}", 15000)

    def stop(self) -> None:
        self.stop_generation()

    def stop_generation(self) -> None:
        if self._running:
            self.run_label.setText("Stopping…")
        super().stop()

    def branch_with(self, token_id: int) -> None:
        """Cut the text at the chart's step, force `token_id` there, and continue."""
        record = self.record
        step = self.chart.step
        if record is None or step is None or not self.idle:
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
        self._branches.append(Branch(index, record.steps[index:], record.stop_reason, record.stats))
        record.cut(index)
        self.stream_view.truncate(index)
        self.timeline.set_steps(record.steps)
        self._send_more(record, self.settings(), forced)

    def restore_branch(self) -> None:
        record = self.record
        if record is None or not self._branches or self._running:
            return
        if self._holding:
            self._reveal()
        branch = self._branches.pop()
        record.cut(branch.at)
        record.steps.extend(branch.steps)
        record.stop_reason = branch.stop_reason
        record.stats = branch.stats
        self._show_record()
        self.select_step(min(branch.at, len(record.steps) - 1))

    # ---- worker events --------------------------------------------------------------
    def _on_feed(self, items: list[tuple[int, StepReport]]) -> None:
        if items:
            self._on_steps([report for _rid, report in items])
        elif self._pending and self._text_pacer.wait() <= 0:
            self._flush_pending()

    def _on_steps(self, reports: list[StepReport]) -> None:
        if self.record is None:
            return
        record = self.record
        for report in reports:
            record.steps.append(report.step)
            record.pieces.update(report.pieces)
        self._pending.extend(reports)
        now = time.monotonic()
        self._slow_stream = len(reports) == 1 and now - self._last_arrival >= SLOW_STREAM_S
        self._last_arrival = now
        if self._text_pacer.wait() <= 0:
            self._flush_pending()

    def _flush_pending(self, *, all_views: bool = False) -> None:
        if self._hold_next or self._holding:
            return  # a token to guess: shown when the user reveals it
        reports, self._pending = self._pending, []
        started = time.perf_counter()
        self.stream_view.append_steps([r.step for r in reports])
        self._text_pacer.updated(time.perf_counter() - started)
        self._plot_pending.extend(reports)
        now = time.monotonic()
        every = all_views or self._slow_stream
        timeline_turn = every or now >= self._timeline_due
        chart_turn = every or (now >= self._chart_due and not timeline_turn)
        if timeline_turn and self._plot_pending:
            self.timeline.append_steps([r.step for r in self._plot_pending])
            self._plot_pending = []
            self._timeline_due = now + PLOT_INTERVAL_S
            self._chart_due = max(self._chart_due, now + PLOT_INTERVAL_S / 2)
        if chart_turn and self._selected < 0 and self.record:
            self._chart_due = now + PLOT_INTERVAL_S
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
        if all_views or timeline_turn:  # the status line re-lays out the status bar
            self._update_run_label()

    def _on_redecoding(self, request_id: int, tokens: int) -> None:
        if request_id == self._request:
            self.run_label.setText(
                f"Reading the text so far again, token by token as the run did ({tokens} "
                "tokens), so its numbers stay exact…"
            )

    def _on_beam_progress(self, request_id: int, searched: int) -> None:
        if request_id == self._request:
            total = self.record.settings.max_tokens if self.record is not None else 0
            self.run_label.setText(f"Beam search: step {searched} of at most {total}…")
            self.output_caption.setText(
                f"Beam search is running (step {searched} of at most {total}): the best "
                "beam's text appears when it ends; the Beam search tab draws the whole tree"
            )

    def _end(self) -> None:
        self.output_caption.setText(OUTPUT_CAPTION)
        super()._end()

    def _on_finished(self, request_id: int, finished: RunFinished) -> None:
        if request_id != self._request or self.record is None:
            return
        self.feed.end()
        record = self.record
        record.stop_reason = finished.reason
        record.stats = RunStats(finished.tokens_per_second, finished.time_to_first_token)
        if finished.beam_nodes:
            record.beam_nodes = finished.beam_nodes
            record.beam_path = finished.beam_path
            record.pieces.update(finished.pieces)
        self._running = False
        if self._hold_next:
            self._hold_next = False
            self._holding = True
            self.step_button.setText("Reveal")
            self.run_label.setText("What comes next? Guess, then press Reveal")
            self._end()
            return
        self._flush_pending(all_views=True)
        self.stream_view.finish()
        if self._selected < 0 and record.steps:
            self._show_chart(len(record.steps) - 1)
        self._update_run_label()
        self._end()

    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id != self._request:
            return
        self.feed.end()
        self._running = False
        self._flush_pending(all_views=True)
        self.run_label.setText("")
        self._notify(message, 8000)
        self._end()

    def _update_run_label(self) -> None:
        record = self.record
        if record is None:
            self.run_label.setText("")
            return
        count = len(record.steps)
        parts = [f"{count} token{'s' if count != 1 else ''}"]
        if record.stats.tokens_per_second > 0:
            parts.append(f"{record.stats.tokens_per_second:.1f} tokens/s")
        if record.stats.time_to_first_token > 0:
            parts.append(f"first token {record.stats.time_to_first_token * 1000:.0f} ms")
        perplexity = record.perplexity()
        if math.isfinite(perplexity):
            parts.append(f"perplexity {perplexity:.2f}")
        if record.stop_reason == "max_tokens" and self._stepped:
            parts.append("one step: Step again or Continue")
        elif record.stop_reason:
            parts.append(describe_stop(record.stop_reason))
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
        self.stream_view.set_view_temperature(self.decoding.temperature)

    def _show_record(self) -> None:
        record = self.record
        if record is None:
            return
        self.stream_view.pieces = record.pieces
        self.stream_view.set_steps(record.prompt, record.steps)
        self.timeline.set_steps(record.steps)
        self._update_run_label()
        self._update_actions()

    # ---- sessions -------------------------------------------------------------------
    def view_state(self) -> SessionView:
        """How the run is shown, to save with it."""
        return SessionView(
            temperature=self.decoding.temperature,
            selected_step=self._selected,
            top_k_shown=self.chart.k,
            color_mode=self.stream_view.color_mode,
            show_whitespace=self.stream_view.show_whitespace,
        )

    def show_run(self, record: RunRecord, view: SessionView) -> None:
        """Show a saved run as it was shown."""
        if self._running:
            return
        self._request = self._next_id()
        self.feed.follow(self._request)  # anything still arriving belongs to the old view
        self._holding = self._hold_next = False
        self._pending = []
        self.step_button.setText("Step")
        self.record = record
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
