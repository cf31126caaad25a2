"""The Tokenizer tab's replay: the text replayed, its caption, the pre-tokenizer and its
split, and the merges (or WordPiece's choices) stepped through one by one (or played)."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from app.core.tokenizer.replay_steps import Replay
from app.ui.tabs import replay_render
from app.ui.widgets.token_text import visible_piece

REPLAY_STEP_MS = 600


class MergeReplayPanel(QWidget):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.replay: Replay | None = None
        self._chip: tuple[str, int] | None = None  # the text and id of the chip last clicked
        self._replayed = ""
        self._tokenizer = ""  # a compared tokenizer's name; "" for the model's
        self._player = QTimer(self)
        self._player.setInterval(REPLAY_STEP_MS)
        self._player.timeout.connect(self._advance_replay)

        self.replay_text = QPlainTextEdit("unrelated")
        self.replay_text.setAccessibleName("Word to replay")
        self.replay_text.setMaximumHeight(40)
        self.replay_button = QPushButton("Replay")
        self.replay_button.setToolTip(
            "How this model's tokenizer builds the tokens of the text, step by step"
        )
        self.play_button = QPushButton("Play")
        self.play_button.clicked.connect(lambda: self.toggle_play())
        self.back_button = QPushButton("◀")
        self.back_button.setAccessibleName("Previous step")
        self.back_button.setToolTip("Previous step")
        self.back_button.clicked.connect(lambda: self.step_replay(-1))
        self.forward_button = QPushButton("▶")
        self.forward_button.setAccessibleName("Next step")
        self.forward_button.setToolTip("Next step")
        self.forward_button.clicked.connect(lambda: self.step_replay(1))
        self.replay_slider = QSlider(Qt.Orientation.Horizontal)
        self.replay_slider.setAccessibleName("Replay step")
        self.replay_slider.valueChanged.connect(lambda _v: self._show_replay_state())
        self.replay_caption = QLabel("")
        self.replay_caption.setWordWrap(True)
        self.replay_caption.setTextFormat(Qt.TextFormat.RichText)
        self.title = QLabel("Tokenizer replay (select a word in the text, or type)")
        self.pre_tokenizer = QLabel("")
        self.pre_tokenizer.setAccessibleName("Pre-tokenizer and its rules")
        self.pre_tokenizer.setWordWrap(True)
        self.pre_tokenizer.setTextFormat(Qt.TextFormat.RichText)
        self.pre_tokenizer.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.replay_state = QLabel("")
        self.replay_state.setTextFormat(Qt.TextFormat.RichText)
        self.replay_state.setWordWrap(True)
        self.replay_state.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        controls = QHBoxLayout()
        controls.addWidget(self.replay_button)
        controls.addStretch(1)
        for widget in (self.back_button, self.play_button, self.forward_button):
            widget.setMaximumWidth(70)
            controls.addWidget(widget)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.title)
        layout.addWidget(self.replay_text)
        layout.addLayout(controls)
        layout.addWidget(self.replay_caption)
        layout.addWidget(self.replay_slider)
        # The state and the rules scroll together: a pre-tokenizer may have six long rules.
        scrolled = QWidget()
        scrolled_layout = QVBoxLayout(scrolled)
        scrolled_layout.setContentsMargins(0, 0, 4, 0)
        scrolled_layout.addWidget(self.replay_state)
        scrolled_layout.addWidget(self.pre_tokenizer)
        scrolled_layout.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QFrame.Shape.NoFrame)
        scroll.setWidget(scrolled)
        layout.addWidget(scroll, 1)
        self._update_replay_controls()

    def set_chip(self, piece: str, token_id: int) -> None:
        """A chip was clicked: its exact text is what a replay would show next."""
        self.replay_text.setPlainText(piece)
        self._chip = (piece, token_id)

    def begin(self, selected: str, tokenizer: str = "") -> str:
        """Start a replay of `selected` (when it is more than blanks) or of the typed text,
        with the model's tokenizer or with `tokenizer` (a compared one's name); returns the
        text to replay ("" for nothing)."""
        if selected.strip():
            self.replay_text.setPlainText(selected)
        text = self.replay_text.toPlainText()
        if text:
            self._player.stop()
            self._replayed = text
            self._tokenizer = tokenizer
        return text

    def stop(self) -> None:
        self._player.stop()

    def _replay_caption(self, replay: Replay) -> str:
        """What is replayed, and how it relates to the chip last clicked."""
        shown = html.escape(visible_piece(self._replayed.encode()))
        if self._tokenizer:
            return f"Replaying “{shown}” with {html.escape(self._tokenizer)}'s tokenizer"
        chip = self._chip
        if chip is None:
            return f"Replaying “{shown}”"
        piece, token_id = chip
        chip_shown = html.escape(visible_piece(piece.encode()))
        if self._replayed != piece:
            why = (
                "without the chip's leading space"
                if self._replayed == piece.lstrip() and piece != piece.lstrip()
                else "another text"
            )
            return (
                f"Replaying “{shown}”: {why}, not the chip “{chip_shown}” (id {token_id}); "
                "click the chip to replay exactly its text"
            )
        note = f"Replaying the chip “{chip_shown}” (id {token_id}), exactly its text"
        if replay.tokens != [token_id]:
            note += (
                f"; on its own this text becomes {replay.tokens}, so in the full text the "
                "tokenizer split it differently"
            )
        return note

    def show_replay(self, replay: Replay) -> None:
        self.replay = replay
        self.title.setText(
            replay_render.TITLES[replay.kind] + " (select a word in the text, or type)"
        )
        self.replay_caption.setText(
            self._replay_caption(replay) + "<br>" + replay_render.pre_tokenizer_line(replay)
        )
        self.pre_tokenizer.setText(replay_render.legend(replay))
        self.pre_tokenizer.setToolTip("\n".join(replay.rules))
        self.replay_slider.blockSignals(True)
        self.replay_slider.setRange(0, len(replay.steps))
        self.replay_slider.setValue(0)
        self.replay_slider.blockSignals(False)
        self._show_replay_state()
        self._update_replay_controls()

    def step_replay(self, delta: int) -> None:
        self.replay_slider.setValue(self.replay_slider.value() + delta)

    def toggle_play(self) -> None:
        if self._player.isActive():
            self._player.stop()
        else:
            if self.replay is not None and self.replay_slider.value() >= len(self.replay.steps):
                self.replay_slider.setValue(0)
            self._player.start()
        self._update_replay_controls()

    def _advance_replay(self) -> None:
        if self.replay is None or self.replay_slider.value() >= len(self.replay.steps):
            self._player.stop()
            self._update_replay_controls()
            return
        self.step_replay(1)

    def _update_replay_controls(self) -> None:
        has = self.replay is not None and bool(self.replay.steps)
        for widget in (self.play_button, self.back_button, self.forward_button):
            widget.setEnabled(has)
        self.replay_slider.setEnabled(has)
        self.play_button.setText("Pause" if self._player.isActive() else "Play")

    @property
    def replay_position(self) -> int:
        return self.replay_slider.value()

    def _show_replay_state(self) -> None:
        replay = self.replay
        if replay is None:
            self.replay_state.setText("")
            return
        position = self.replay_slider.value()
        chip_font = "<span style='font-size:14pt; font-family:monospace'>{}</span>"
        if position == 0:
            caption, chips = replay_render.split_state(replay)
            body = chip_font.format(chips)
            if replay.kind in ("bpe", "spm"):
                symbols = f" ({replay.symbols})" if replay.symbols else ""
                body += f"<br>where the merges start{symbols}:<br>" + chip_font.format(
                    replay_render.step_chips(replay, 0)
                )
        else:
            caption = replay_render.step_caption(replay, position)
            body = chip_font.format(replay_render.step_chips(replay, position))
        ending = f"<br>tokens: {replay.tokens}" if position == len(replay.steps) else ""
        self.replay_state.setText(f"{caption}<br>{body}{ending}")
