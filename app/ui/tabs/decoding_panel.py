"""Decoding controls: mode, temperature slider, truncation settings, seed, beam width."""

from __future__ import annotations

import random

from PySide6.QtCore import QCoreApplication, QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractScrollArea,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QSlider,
    QSpinBox,
    QToolButton,
    QWidget,
)

from app.core.decoding.decoding_settings import DecodingSettings, Mode

MODE_LABELS: dict[Mode, str] = {
    "greedy": "Greedy",
    "sample": "Sampling",
    "beam": "Beam search",
}
SLIDER_STEPS_PER_UNIT = 100  # the temperature slider moves in steps of 0.01
MAX_TEMPERATURE = 2.0


class WheelNeedsFocus(QObject):
    """Lets a control take wheel events only when it has the keyboard focus; otherwise
    the wheel goes to the scrolling panel around it."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.Wheel
            and isinstance(watched, QWidget)
            and not watched.hasFocus()
        ):
            parent = watched.parentWidget()
            while parent is not None and not isinstance(parent, QAbstractScrollArea):
                parent = parent.parentWidget()
            if parent is not None:
                QCoreApplication.sendEvent(parent.verticalScrollBar(), event)
            return True
        return super().eventFilter(watched, event)


class DecodingPanel(QGroupBox):
    """The settings of the next run. `temperature_changed` fires while the slider moves
    (the chart re-scores the selected step at once)."""

    temperature_changed = Signal(float)
    mode_changed = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Decoding", parent)
        self._wheel_guard = WheelNeedsFocus(self)
        self.mode_box = QComboBox()
        for mode, label in MODE_LABELS.items():
            self.mode_box.addItem(label, mode)
        self.mode_box.setToolTip(
            "Greedy: always the most likely token.\n"
            "Sampling: draw from the distribution after top-k, top-p and min-p.\n"
            "Beam search: keep the B most likely continuations at every step."
        )

        self.temperature_slider = QSlider(Qt.Orientation.Horizontal)
        self.temperature_slider.setRange(0, int(MAX_TEMPERATURE * SLIDER_STEPS_PER_UNIT))
        self.temperature_slider.setValue(80)
        self.temperature_slider.setToolTip(
            "Divides the logits before softmax: below 1 sharpens the distribution, "
            "above 1 flattens it. The chart re-scores the selected step as you drag."
        )
        self.temperature_label = QLabel()
        self.temperature_label.setMinimumWidth(36)
        self.temperature_label.setAlignment(
            Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter
        )
        temperature_row = QHBoxLayout()
        temperature_row.addWidget(self.temperature_slider, 1)
        temperature_row.addWidget(self.temperature_label)

        self.top_k = QSpinBox(minimum=0, maximum=100_000, value=40)
        self.top_k.setSpecialValueText("off")
        self.top_k.setToolTip("Keep only the k most likely tokens (0 = off)")
        self.top_p = QDoubleSpinBox(minimum=0.01, maximum=1.0, singleStep=0.01, value=0.95)
        self.top_p.setToolTip("Keep the smallest set of tokens whose probability adds up to p")
        self.min_p = QDoubleSpinBox(minimum=0.0, maximum=1.0, singleStep=0.01, value=0.05)
        self.min_p.setToolTip("Drop tokens less likely than min-p × the top token's probability")
        self.seed = QSpinBox(minimum=0, maximum=2**31 - 1, value=0)
        self.seed.setToolTip("The same seed and settings draw the same tokens")
        self.dice = QToolButton()
        self.dice.setText("Random")
        self.dice.setToolTip("A new random seed")
        self.dice.clicked.connect(self.roll_seed)
        seed_row = QHBoxLayout()
        seed_row.addWidget(self.seed, 1)
        seed_row.addWidget(self.dice)
        self.beam_width = QSpinBox(minimum=1, maximum=16, value=4)
        self.beam_width.setToolTip("How many continuations beam search keeps at each step")
        self.max_tokens = QSpinBox(minimum=1, maximum=4096, value=64)

        self.view_only_note = QLabel("view only: the choice does not depend on it")
        self.view_only_note.setWordWrap(True)
        note_font = self.view_only_note.font()
        note_font.setItalic(True)
        self.view_only_note.setFont(note_font)
        self.view_only_note.setToolTip(
            "Greedy and beam search choose by the model's own probabilities (T = 1); the "
            "slider only re-scores the chart, to show what temperature would do"
        )

        form = QFormLayout(self)
        form.addRow("Mode", self.mode_box)
        form.addRow("Temperature", temperature_row)
        form.addRow("", self.view_only_note)
        form.addRow("Top-k", self.top_k)
        form.addRow("Top-p", self.top_p)
        form.addRow("Min-p", self.min_p)
        form.addRow("Seed", seed_row)
        form.addRow("Beam width", self.beam_width)
        form.addRow("Max tokens", self.max_tokens)
        self._form = form

        self.temperature_slider.valueChanged.connect(self._on_temperature)
        self.mode_box.currentIndexChanged.connect(self._on_mode)
        for widget in (
            self.mode_box,
            self.temperature_slider,
            self.top_k,
            self.top_p,
            self.min_p,
            self.seed,
            self.beam_width,
            self.max_tokens,
        ):
            # The panel scrolls on a short screen: the wheel scrolls it, and changes a
            # value only in the control the user clicked (a passing wheel changed max
            # tokens from 64 to 67).
            widget.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            widget.installEventFilter(self._wheel_guard)
        self._on_temperature()
        self._on_mode()

    @property
    def mode(self) -> Mode:
        mode: Mode = self.mode_box.currentData()
        return mode

    def set_mode(self, mode: Mode) -> None:
        self.mode_box.setCurrentIndex(self.mode_box.findData(mode))

    @property
    def temperature(self) -> float:
        return self.temperature_slider.value() / SLIDER_STEPS_PER_UNIT

    def set_temperature(self, value: float) -> None:
        self.temperature_slider.setValue(round(value * SLIDER_STEPS_PER_UNIT))

    def roll_seed(self) -> None:
        self.seed.setValue(random.randrange(self.seed.maximum()))

    def _on_temperature(self) -> None:
        self.temperature_label.setText(f"{self.temperature:.2f}")
        self.temperature_changed.emit(self.temperature)

    def _on_mode(self) -> None:
        mode = self.mode
        sampling = mode == "sample"
        for widget in (self.top_k, self.top_p, self.min_p, self.seed, self.dice):
            widget.setEnabled(sampling)
        self.beam_width.setEnabled(mode == "beam")
        # Always shown (the rows below never move), its words follow the mode.
        self.view_only_note.setText(
            "sampling draws at this T"
            if sampling
            else "view only: the choice does not depend on it"
        )
        self.view_only_note.setProperty("view_only", not sampling)
        self.mode_changed.emit(mode)

    @property
    def slider_is_view_only(self) -> bool:
        return bool(self.view_only_note.property("view_only"))

    def settings(self) -> DecodingSettings:
        return DecodingSettings(
            mode=self.mode,
            temperature=self.temperature,
            top_k=self.top_k.value(),
            top_p=self.top_p.value(),
            min_p=self.min_p.value(),
            seed=self.seed.value(),
            beam_width=self.beam_width.value(),
            max_tokens=self.max_tokens.value(),
        )

    def apply(self, settings: DecodingSettings) -> None:
        """Show the settings of an opened session."""
        self.set_mode(settings.mode)
        self.set_temperature(settings.temperature)
        self.top_k.setValue(settings.top_k)
        self.top_p.setValue(settings.top_p)
        self.min_p.setValue(settings.min_p)
        self.seed.setValue(min(settings.seed, self.seed.maximum()))
        self.beam_width.setValue(settings.beam_width)
        self.max_tokens.setValue(settings.max_tokens)
