"""The Preference tab: a prompt, a chosen and a rejected answer (the course's example,
editable), each scored under a base model and its instruct model. Shown: each answer's
log-probability under both (sums and means per token), DPO's implicit reward
r = β · (log π_instruct − log π_base), the margin r(chosen) − r(rejected) and σ(margin),
and per token the log-ratio as a colour (which words post-training pushed up or down)."""

from __future__ import annotations

import html
import math
from collections.abc import Callable
from pathlib import Path

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDoubleSpinBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QTableWidgetItem,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core.decoding.preference import AnswerScore, Preference
from app.ui.widgets.file_choice import choose_gguf
from app.ui.widgets.item_table import item_table, number_item
from app.ui.widgets.token_text import visible_piece
from app.workers.preference_worker import PreferenceRequest, PreferenceThread

PROMPT = "I'm new in town. Where can I find a convenience store near here?"
CHOSEN = (
    "I don't know where you are, so I can't point to one, but a map app will list the "
    "convenience stores nearest to you, with their opening hours. Many petrol stations "
    "have one too."
)
REJECTED = "There's a convenience store on Main Street, two blocks north of you."
HONEST = (
    "The instruct model stands in for the policy and the base model for the reference: DPO "
    "trains a policy against a frozen reference; here both are finished models."
)


def ratio_color(value: float) -> QColor:
    """Green where post-training raised the token's log p, red where it lowered it."""
    level = max(-1.0, min(1.0, value / 4.0))
    hue = 120.0 if level >= 0 else 0.0
    return QColor.fromHslF(hue / 360.0, 0.75, 0.95 - 0.35 * abs(level))


def ratio_html(score: AnswerScore) -> str:
    spans = []
    for piece, value in zip(score.pieces, score.log_ratios(), strict=True):
        text = html.escape(visible_piece(piece.encode("utf-8", "surrogateescape")))
        spans.append(
            f'<span style="background:{ratio_color(value).name()}; color:#111827" '
            f'title="{value:+.2f}">{text}</span>'
        )
    return "".join(spans)


class ModelField(QWidget):
    def __init__(self, placeholder: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.edit = QLineEdit()
        self.edit.setPlaceholderText(placeholder)
        self.edit.setAccessibleName(placeholder)
        button = QPushButton("Choose…")
        button.setAccessibleName(f"Choose the {placeholder.split(':')[0].lower()}")
        button.clicked.connect(self._choose)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.edit, 1)
        row.addWidget(button)

    def _choose(self) -> None:
        path = choose_gguf(self, "A GGUF model")
        if path is not None:
            self.edit.setText(str(path))


class PreferenceView(QWidget):
    def __init__(
        self, current_model: Callable[[], Path | None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._thread = PreferenceThread()
        self._thread.worker.sig_done.connect(self._on_done)
        self._thread.worker.sig_failed.connect(self._on_failed)
        self._current_model = current_model
        self._request = 0
        self.result: Preference | None = None
        self.prompt = QLineEdit(PROMPT)
        self.prompt.setAccessibleName("Prompt")
        self.chosen = QPlainTextEdit(CHOSEN)
        self.chosen.setAccessibleName("Chosen answer")
        self.rejected = QPlainTextEdit(REJECTED)
        self.rejected.setAccessibleName("Rejected answer")
        for edit in (self.chosen, self.rejected):
            edit.setMaximumHeight(60)
        self.base = ModelField("Base model: a GGUF (the reference)")
        self.instruct = ModelField("Instruct model: a GGUF with a chat template (the policy)")
        self.beta = QDoubleSpinBox(minimum=0.01, maximum=10.0, value=0.1, singleStep=0.05)
        self.beta.setDecimals(2)
        self.beta.setMaximumWidth(100)
        self.beta.setAccessibleName("β, DPO's temperature of the reward")
        self.compare_button = QPushButton("Compare the answers")
        self.compare_button.clicked.connect(self.start)
        form = QFormLayout()
        form.addRow("Prompt", self.prompt)
        form.addRow("Chosen", self.chosen)
        form.addRow("Rejected", self.rejected)
        form.addRow("Base", self.base)
        form.addRow("Instruct", self.instruct)
        form.addRow("β", self.beta)
        self.table = item_table(
            ["Answer", "Tokens", "log p base", "per token", "log p instruct", "per token",
             "reward r"], 0,
        )  # fmt: skip
        self.table.setAccessibleName("Each answer's log-probability and reward")
        self.table.setMaximumHeight(90)
        self.verdict = QLabel("")
        self.verdict.setWordWrap(True)
        self.heat = QTextBrowser()
        self.heat.setAccessibleName("Per-token log-ratio, instruct over base")
        honest = QLabel(HONEST)
        honest.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.compare_button)
        layout.addWidget(honest)
        layout.addWidget(self.table)
        layout.addWidget(self.verdict)
        layout.addWidget(self.heat, 1)

    def start(self) -> None:
        base = self.base.edit.text().strip() or str(self._current_model() or "")
        instruct = self.instruct.edit.text().strip()
        if not base or not instruct:
            self.verdict.setText("Choose a base model and its instruct model (they must share "
                                 "their vocabulary), then compare.")  # fmt: skip
            return
        self._request += 1
        self.compare_button.setEnabled(False)
        self.verdict.setText("Scoring both answers under both models (one model at a time)…")
        self._thread.worker.compare(
            PreferenceRequest(
                self._request,
                base,
                instruct,
                self.prompt.text(),
                self.chosen.toPlainText(),
                self.rejected.toPlainText(),
                self.beta.value(),
            )
        )

    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id == self._request:
            self.compare_button.setEnabled(True)
            self.verdict.setText(message)

    def _on_done(self, request_id: int, result: Preference) -> None:
        if request_id != self._request:
            return
        self.compare_button.setEnabled(True)
        self.result = result
        self.table.setRowCount(2)
        for row, (name, score) in enumerate(
            (("chosen", result.chosen), ("rejected", result.rejected))
        ):
            n = max(1, len(score.ids))
            cells = (
                QTableWidgetItem(name),
                number_item(str(len(score.ids))),
                number_item(f"{score.sum_base:.3f}"),
                number_item(f"{score.sum_base / n:.3f}"),
                number_item(f"{score.sum_instruct:.3f}"),
                number_item(f"{score.sum_instruct / n:.3f}"),
                number_item(f"{score.reward(result.beta):+.4f}"),
            )
            for column, cell in enumerate(cells):
                self.table.setItem(row, column, cell)
        odds = "" if math.isfinite(result.margin) else " (overflow)"
        self.verdict.setText(
            f"margin r(chosen) − r(rejected) = <b>{result.margin:+.4f}</b>; σ(margin) = "
            f"<b>{result.p_chosen:.3f}</b>: the probability DPO's model of preferences gives "
            f"the chosen answer being preferred (β = {result.beta:g}){odds}"
        )
        self.heat.setHtml(
            "<p>Per token, log π_instruct − log π_base: green raised by post-training, red "
            "lowered (hover for the value).</p>"
            f"<p><b>Chosen:</b> {ratio_html(result.chosen)}</p>"
            f"<p><b>Rejected:</b> {ratio_html(result.rejected)}</p>"
        )

    def close_worker(self) -> None:
        self._thread.close()
