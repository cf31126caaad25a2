"""The Beam search tab: width and length penalty, the growing tree, the final ranking."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSpinBox,
    QWidget,
)

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import BeamNode, describe_stop
from app.ui.tabs.engine_tab import EngineTab
from app.ui.widgets.beam_tree_view import BeamTreeView
from app.ui.widgets.color_legends import beam_tree_legend
from app.workers.engine_requests import GenerationRequest, RunFinished
from app.workers.engine_worker import EngineWorker

BEFORE_A_RUN = (
    "Press Search: beam search keeps the <i>width</i> most likely continuations at every "
    "step, and the tree on the left grows as it goes. The final hypotheses are ranked "
    "here, best first."
)


class BeamView(EngineTab):
    def __init__(
        self,
        worker: EngineWorker,
        next_request_id: Callable[[], int],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(worker, next_request_id, parent)
        self.finished: RunFinished | None = None

        self.prompt_edit = QPlainTextEdit()
        self.prompt_edit.setAccessibleName("Prompt")
        self.prompt_edit.setMaximumHeight(70)
        self.prompt_edit.setTabChangesFocus(True)
        self.width_spin = QSpinBox(minimum=1, maximum=16, value=3)
        self.width_spin.setAccessibleName("Beam width")
        self.width_spin.setPrefix("width ")
        self.width_spin.setToolTip("How many hypotheses are kept at every step")
        self.penalty_box = QCheckBox("length penalty")
        self.penalty_box.setToolTip(
            "Rank the final hypotheses by log p / length^α instead of log p, so longer ones "
            "are not punished for every extra token"
        )
        self.penalty_spin = QDoubleSpinBox(minimum=0.0, maximum=3.0, singleStep=0.1, value=1.0)
        self.penalty_spin.setAccessibleName("Length penalty")
        self.penalty_spin.setPrefix("α ")
        self.penalty_spin.setEnabled(False)
        self.penalty_box.toggled.connect(self.penalty_spin.setEnabled)
        self.max_tokens = QSpinBox(minimum=1, maximum=256, value=8)
        self.max_tokens.setAccessibleName("Maximum new tokens")
        self.max_tokens.setPrefix("steps ")
        self.run_button = QPushButton("Search")
        self.run_button.clicked.connect(lambda: self.run())
        self.stop_button = QPushButton("Stop")
        self.stop_button.clicked.connect(lambda: self.stop())
        self.status = QLabel("")
        bar = QHBoxLayout()
        for widget in (
            self.run_button,
            self.stop_button,
            self.width_spin,
            self.penalty_box,
            self.penalty_spin,
            self.max_tokens,
        ):
            bar.addWidget(widget)
        bar.addStretch(1)
        bar.addWidget(self.status)

        self.tree = BeamTreeView()
        self.hypotheses = QLabel("")
        self.hypotheses.setTextFormat(Qt.TextFormat.RichText)
        self.hypotheses.setWordWrap(True)
        self.hypotheses.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        self.hypotheses.setMinimumWidth(300)
        self.hypotheses.setText(BEFORE_A_RUN)
        self.legend = QLabel(beam_tree_legend())
        self._lay_out(self.prompt_edit, bar, self.tree, self.hypotheses, (950, 350), self.legend)

        worker.sig_beam_nodes.connect(self._on_nodes)
        worker.sig_finished.connect(self._on_finished)
        worker.sig_failed.connect(self._on_failed)
        self._update_actions()

    def _update_actions(self) -> None:
        self.run_button.setEnabled(self.idle)
        self.stop_button.setEnabled(self._running)

    def settings(self) -> DecodingSettings:
        return DecodingSettings(
            mode="beam",
            beam_width=self.width_spin.value(),
            length_penalty=self.penalty_spin.value() if self.penalty_box.isChecked() else None,
            max_tokens=self.max_tokens.value(),
        )

    def run(self) -> None:
        if not self.run_button.isEnabled():
            return
        prompt = self.prompt_edit.toPlainText()
        if not prompt:
            self.status.setText("Type a prompt first")
            return
        self._request = self._next_id()
        self.finished = None
        self.tree.clear_tree()
        self.hypotheses.setText("")
        self.status.setText("Searching…")
        self._begin()
        self._worker.generate(GenerationRequest(self._request, prompt, self.settings()))

    def _on_nodes(self, request_id: int, nodes: list[BeamNode]) -> None:
        if request_id == self._request:
            self.tree.add_nodes(nodes)
            self.status.setText(f"Step {nodes[0].step + 1 if nodes else '?'}…")

    def _on_finished(self, request_id: int, finished: RunFinished) -> None:
        if request_id != self._request:
            return
        self.finished = finished
        self.tree.highlight_path(finished.beam_path)
        lines = ["<b>Final hypotheses</b>, best first"]
        for rank, hyp in enumerate(finished.hypotheses, start=1):
            ended = "ended" if hyp.finished else "cut at the step limit"
            style = "background:#fde68a" if rank == 1 else ""
            lines.append(
                f"<div style='{style}'>{rank}. score {hyp.score:.3f} "
                f"(log p {hyp.logprob:.2f}, {hyp.length} tokens, {ended})<br>"
                f"<tt>{html.escape(hyp.text)}</tt></div>"
            )
        self.hypotheses.setText("".join(lines))
        self.status.setText(
            f"{len(self.tree.nodes)} candidates considered · {describe_stop(finished.reason)}"
        )
        self._end()

    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id == self._request:
            self.status.setText(message)
            self._end()
