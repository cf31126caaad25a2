"""The tabs for the course's slides that run models on their own threads: Score (what
pre-training optimises) and Preference (what RLHF and DPO change)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import QTabWidget

from app.ui.tabs.preference_view import PreferenceView
from app.ui.tabs.score_view import ScoreView


class CourseTabs:
    def __init__(self, tabs: QTabWidget, current_model: Callable[[], Path | None]) -> None:
        self.score = ScoreView(current_model)
        tabs.addTab(self.score, "Score")
        self.preference = PreferenceView(current_model)
        tabs.addTab(self.preference, "Preference")

    def close(self) -> None:
        self.score.close_worker()
        self.preference.close_worker()
