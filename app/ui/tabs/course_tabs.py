"""The tabs for the course's slides that run models on their own threads: Score (what
pre-training optimises), Preference (what RLHF and DPO change) and models side by side
(the key characteristics)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QTabWidget

from app.ui.tabs.preference_view import PreferenceView
from app.ui.tabs.score_view import ScoreView
from app.ui.tabs.side_by_side_view import SideBySideView


class CourseTabs:
    def __init__(
        self,
        tabs: QTabWidget,
        current_model: Callable[[], Path | None],
        workspace_text: Callable[[], str],
    ) -> None:
        self.score = ScoreView(current_model, workspace_text)
        tabs.addTab(self.score, "Score")
        self.preference = PreferenceView(current_model)
        tabs.addTab(self.preference, "Preference")
        self.side_by_side = SideBySideView(current_model)
        tabs.addTab(self.side_by_side, "Side by side")

    def close(self) -> None:
        self.score.close_worker()
        self.preference.close_worker()
        self.side_by_side.close_worker()
