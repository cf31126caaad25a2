"""How a running generation's steps reach the Workspace's text, timeline and chart without
flooding the event loop.

The text follows the steps at most 20 times a second, less when its updates grow dear
(a long paragraph): then they are spaced to stay within TEXT_BUDGET of the time, the
paint after an update costing about as much as the update. The plots repaint in software
(~7–10 ms each) on a core llama.cpp's threads need: on a fast stream each follows once a
second, half a second apart, so no event-loop pass holds both (and the GIL) at once; a
slow stream (a token every 125 ms or more) leaves the CPU idle between tokens, and the
plots follow every token.
"""

from __future__ import annotations

import time

from app.core.runs.run_record import RunRecord
from app.ui.widgets.probability_chart import ProbabilityChart
from app.ui.widgets.timeline_view import TimelineView
from app.ui.widgets.token_stream_view import TokenStreamView
from app.ui.widgets.update_pacer import TEXT_BUDGET, UpdatePacer
from app.workers.step_reports import StepReport

PLOT_INTERVAL_S = 1.0
SLOW_STREAM_S = 0.125
TEXT_INTERVAL_S = 0.05


class LiveSteps:
    def __init__(
        self, stream_view: TokenStreamView, timeline: TimelineView, chart: ProbabilityChart
    ) -> None:
        self._stream_view = stream_view
        self._timeline = timeline
        self._chart = chart
        self.pending: list[StepReport] = []  # arrived, not yet in the text
        self._plot_pending: list[StepReport] = []  # in the text, not yet in the timeline
        self._text_pacer = UpdatePacer(TEXT_INTERVAL_S, TEXT_BUDGET, cost_factor=2.0)
        self._last_arrival = 0.0
        self._slow_stream = True
        self._timeline_due = 0.0  # time.monotonic() when each plot may repaint again
        self._chart_due = 0.0

    def reset(self) -> None:
        self.pending = []
        self._plot_pending = []
        self._last_arrival = self._timeline_due = self._chart_due = 0.0
        self._text_pacer.reset()

    def arrive(self, record: RunRecord, reports: list[StepReport]) -> None:
        """Steps arrived: they join the run at once and the text when it is due."""
        for report in reports:
            record.steps.append(report.step)
            record.pieces.update(report.pieces)
        self.pending.extend(reports)
        now = time.monotonic()
        self._slow_stream = len(reports) == 1 and now - self._last_arrival >= SLOW_STREAM_S
        self._last_arrival = now

    @property
    def text_due(self) -> bool:
        return self._text_pacer.wait() <= 0

    def show(self, record: RunRecord | None, *, all_views: bool, follow: bool, live: bool) -> bool:
        """Show the pending steps in the text, and in the plots when it is their turn (or
        `all_views`); the chart shows the latest step when it `follow`s the run. Returns
        whether the timeline (and so the status line) was brought up to date."""
        reports, self.pending = self.pending, []
        started = time.perf_counter()
        self._stream_view.append_steps([r.step for r in reports])
        self._text_pacer.updated(time.perf_counter() - started)
        self._plot_pending.extend(reports)
        now = time.monotonic()
        every = all_views or self._slow_stream
        timeline_turn = every or now >= self._timeline_due
        chart_turn = every or (now >= self._chart_due and not timeline_turn)
        if timeline_turn and self._plot_pending:
            self._timeline.append_steps([r.step for r in self._plot_pending])
            self._plot_pending = []
            self._timeline_due = now + PLOT_INTERVAL_S
            self._chart_due = max(self._chart_due, now + PLOT_INTERVAL_S / 2)
        if chart_turn and follow and record:
            self._chart_due = now + PLOT_INTERVAL_S
            # Following the latest step: the chart only (no selection marks to move).
            latest = len(self._stream_view.steps) - 1
            if latest >= 0:
                self._chart.show_step(
                    record.steps[latest],
                    record.pieces,
                    record.settings,
                    record.beam_nodes,
                    record.beam_path,
                    live=live,
                )
        return all_views or timeline_turn
