"""The Workspace tab's widgets and how they are laid out (what they do is in
workspace_view): the run buttons, the prompt, the token stream over the timeline, and the
decoding panel over the chart in a side panel that scrolls on a short screen."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, QTimer
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
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from app.core.decoding.guess_score import GuessResult, GuessScore
from app.ui.tabs.decoding_panel import DecodingPanel
from app.ui.tabs.engine_tab import EngineTab
from app.ui.tabs.inside_views import InsideViews
from app.ui.widgets.color_legends import boundaries_legend
from app.ui.widgets.probability_chart import ProbabilityChart
from app.ui.widgets.timeline_view import TimelineView
from app.ui.widgets.token_stream_view import TokenStreamView
from app.workers.engine_worker import EngineWorker

SAMPLE_PROMPT = (
    "Detective Jameson sat in his cramped office, surrounded by stacks of dusty files "
    "and yellowed newspapers."
)
OUTPUT_CAPTION = "Output: hover a token for its probabilities, click it to inspect its step"

INSIDE_HEIGHT = 540  # the Layers and Attention views, on a 768-pixel screen


class WorkspaceLayout(EngineTab):
    """The widgets, built and placed; the subclass connects them to what they do."""

    def __init__(
        self,
        worker: EngineWorker,
        next_request_id: Callable[[], int],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(worker, next_request_id, parent)
        self._build()

    def _build(self) -> None:
        self.generate_button = QPushButton("Generate")
        self.generate_button.setToolTip("Generate from the prompt (Ctrl+Enter)")
        self.stop_button = QPushButton("Stop")
        self.stop_button.setToolTip("Stop generating (Esc)")
        self.continue_button = QPushButton("Continue")
        self.continue_button.setToolTip("Generate more after the current text (Ctrl+Shift+Enter)")
        self.step_button = QPushButton("Step")
        self.step_button.setToolTip("One more token: guess it first, then reveal (Ctrl+.)")
        self.guess_box = QCheckBox("Guess first")
        self.guess_box.setToolTip(
            "Step keeps the new token hidden: type what you think comes next, then press "
            "Reveal to see its rank and probability"
        )
        self.guess_edit = QLineEdit()
        self.guess_edit.setAccessibleName("Your guess for the next token")
        self.guess_edit.setPlaceholderText("your guess")
        self.guess_edit.setMaximumWidth(130)
        self.guess_edit.setToolTip(
            "The next token as you expect it (a leading space does not matter); Enter reveals"
        )
        self.guess_edit.setEnabled(False)  # shown always: the buttons never move
        self.guess_box.toggled.connect(self.guess_edit.setEnabled)
        self.guess_score = GuessScore()
        self.last_guess: GuessResult | None = None
        self.restore_button = QPushButton("Restore branch")
        self.restore_button.setToolTip("Bring back the text this branch replaced")

        self.color_mode = QComboBox()
        self.color_mode.addItems(
            ["Colour: token boundaries", "Colour: probability", "Colour: entropy"]
        )
        self.color_mode.setToolTip(
            "Token boundaries alternate two colours; probability goes from red (unlikely) to "
            "green (likely); entropy from pale (sure) to violet (unsure)"
        )
        self.whitespace_box = QCheckBox("Show whitespace (␣ ↵)")

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
        self.prompt_edit.setAccessibleName("Prompt")
        self.prompt_edit.setPlaceholderText("Type a prompt; the model continues it")
        self.prompt_edit.setMaximumHeight(90)
        self.prompt_edit.setTabChangesFocus(True)  # keyboard users must be able to leave it
        self.stream_view = TokenStreamView()
        self.stream_view.setAccessibleName("Generated text, one token per coloured box")
        self.timeline = TimelineView()
        self.timeline.setMinimumHeight(120)

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
        self.chart = ProbabilityChart()
        side = QWidget()
        side.setMinimumWidth(380)
        side_layout = QVBoxLayout(side)
        side_layout.setContentsMargins(0, 0, 0, 0)
        side_layout.addWidget(self.decoding)
        # The chart of the next token, and beside it the views inside the model.
        self.side_tabs = QTabWidget()
        self.side_tabs.setDocumentMode(True)
        self.side_tabs.addTab(self.chart, "Next token")
        self.inside = InsideViews(self.side_tabs, self._next_id)
        self.side_tabs.currentChanged.connect(self._make_room)
        side_layout.addWidget(self.side_tabs, 1)
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

    def _make_room(self, index: int) -> None:
        """The views inside the model want height: they take the panel's (it scrolls to
        them); the chart gives it back to the decoding settings."""
        self.side_tabs.setMinimumHeight(INSIDE_HEIGHT if index > 0 else 0)
        if index > 0:
            bar = self.side_scroll.verticalScrollBar()  # the tabs' top at the panel's top
            QTimer.singleShot(0, lambda: bar.setValue(self.side_tabs.y()))
