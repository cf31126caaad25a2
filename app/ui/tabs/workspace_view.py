"""The Workspace tab: prompt, live token stream, next-token chart, timeline, controls.

The engine thread queues each step (step_queue); a 25 ms timer takes them while a run
goes, and the text shows them at most 20 times a second (less when its updates grow
dear), so a fast model never floods the event loop. The plots follow more slowly.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QWidget,
)

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.guess_score import describe_guess, rate_guess
from app.core.decoding.step_records import TokenStep, describe_stop
from app.core.runs.run_record import Branch, RunRecord, RunStats
from app.core.runs.session_file import SessionView
from app.ui.tabs.live_steps import LiveSteps
from app.ui.tabs.workspace_layout import OUTPUT_CAPTION, WorkspaceLayout
from app.ui.widgets.color_legends import boundaries_legend, entropy_legend, probability_legend
from app.ui.widgets.live_label import LiveLabel
from app.ui.widgets.step_feed import StepFeed
from app.ui.widgets.token_stream_view import COLOR_MODES
from app.ui.widgets.token_text import visible_piece
from app.workers.engine_requests import GenerationRequest, RunFinished
from app.workers.engine_worker import EngineWorker
from app.workers.step_reports import StepReport

STEP_POLL_MS = 25  # a running generation's new steps are taken from the worker this often

Notify = Callable[[str, int], None]


class WorkspaceView(WorkspaceLayout):
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
        self._hold_next = False  # the running step is to be guessed before it is shown
        self._stepped = False  # the last run was one Step
        self._holding = False  # a generated token waits for Reveal
        # While a run goes, new steps are taken from this tab's queue on a timer and shown
        # at once, unless the text's pacer asks to wait (live_steps).
        self.live = LiveSteps(self.stream_view, self.timeline, self.chart)
        self.feed = StepFeed(STEP_POLL_MS, self._on_feed, parent=self)
        worker.sig_beam_progress.connect(self._on_beam_progress)
        worker.sig_redecoding.connect(self._on_redecoding)
        worker.sig_finished.connect(self._on_finished)
        worker.sig_failed.connect(self._on_failed)
        self._connect()

    def _connect(self) -> None:
        self.generate_button.clicked.connect(lambda: self.start_generation())
        self.stop_button.clicked.connect(lambda: self.stop_generation())
        self.continue_button.clicked.connect(lambda: self.continue_generation())
        self.step_button.clicked.connect(lambda: self.step_once())
        self.guess_edit.returnPressed.connect(lambda: self.step_once() if self._holding else None)
        self.restore_button.clicked.connect(lambda: self.restore_branch())
        self.color_mode.currentIndexChanged.connect(self._on_color_mode)
        self.whitespace_box.toggled.connect(self._on_whitespace)
        self.stream_view.step_clicked.connect(self.select_step)
        self.stream_view.step_hovered.connect(self._on_hover)
        self.timeline.step_clicked.connect(self.select_step)
        self.timeline.step_hovered.connect(self._on_hover)
        self.decoding.temperature_changed.connect(lambda _t: self._sync_chart_settings())
        self.decoding.mode_changed.connect(lambda _m: self._sync_chart_settings())
        for spin in (self.decoding.top_k, self.decoding.top_p, self.decoding.min_p):
            spin.valueChanged.connect(lambda _v: self._sync_chart_settings())
        self.decoding.beam_width.valueChanged.connect(lambda _v: self._sync_chart_settings())
        self.chart.token_activated.connect(self.branch_with)
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
        self.live.reset()
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
        verdict = describe_guess(result, step, guess, visible_piece(step.piece))
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
        if items and self.record is not None:
            self.live.arrive(self.record, [report for _rid, report in items])
        if self.live.pending and self.live.text_due:
            self._flush_pending()

    def _flush_pending(self, *, all_views: bool = False) -> None:
        if self._hold_next or self._holding:
            return  # a token to guess: shown when the user reveals it
        follow = self._selected < 0
        if self.live.show(self.record, all_views=all_views, follow=follow, live=self._running):
            self._update_run_label()  # the status line re-lays out the status bar

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

    def full_text(self) -> str:
        """The prompt and what was generated after it (for the Score tab)."""
        record = self.record
        return record.prompt + record.text() if record is not None else ""

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
        self.inside.show_step(record.prompt, record.ids, index, record.steps[index].number)

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
        self.live.reset()
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
