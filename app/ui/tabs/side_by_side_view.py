"""Models side by side (the "key characteristics" slide): up to four models as columns —
the loaded one, GGUF files, the course's two API models as dated reference rows — and
their facts as rows, with the speed here measured on demand."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtWidgets import (
    QCompleter,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import PlaygroundError
from app.core.library.catalog import CatalogEntry, load_catalog
from app.core.library.license_tiers import TIER_LINES
from app.core.library.model_facts import REFERENCE_MODELS, ROWS, ModelFacts, local_facts
from app.ui.widgets.file_choice import choose_gguf
from app.workers.speed_worker import TOKENS, SpeedThread

MAX_MODELS = 4


def _catalog() -> list[CatalogEntry]:
    try:
        return load_catalog()
    except PlaygroundError:
        return []


class SideBySideView(QWidget):
    def __init__(
        self, current_model: Callable[[], Path | None], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self._current_model = current_model
        self._thread = SpeedThread()
        self._thread.worker.sig_measured.connect(self._on_speed)
        self._thread.worker.sig_failed.connect(self._on_failed)
        self._thread.worker.sig_found.connect(self.add)
        self._thread.worker.sig_lookup_failed.connect(lambda m: self._on_failed("", m))
        self.models: list[ModelFacts] = []
        buttons = QHBoxLayout()
        self.add_loaded = QPushButton("Add the loaded model")
        self.add_loaded.clicked.connect(self._add_loaded)
        self.add_file = QPushButton("Add a GGUF file…")
        self.add_file.clicked.connect(self._add_file)
        self.add_reference = QPushButton("Add GPT-4o and Gemini 1.5 Pro (reference)")
        self.add_reference.clicked.connect(self.add_references)
        self.measure_button = QPushButton(f"Measure speed here ({TOKENS} tokens each)")
        self.measure_button.clicked.connect(self.measure)
        self.repo = QLineEdit()
        self.repo.setPlaceholderText("owner/name on the Hub")
        self.repo.setAccessibleName("A Hub repository to add, owner/name")
        picks = [entry.repo for entry in _catalog()]
        self.repo.setCompleter(QCompleter(picks, self.repo))
        self.add_hub = QPushButton("Add from the Hub")
        self.add_hub.setToolTip("A course pick or any GGUF repository: what the Hub says of it")
        self.add_hub.clicked.connect(self._add_hub)
        self.repo.returnPressed.connect(self._add_hub)
        self.clear_button = QPushButton("Clear")
        self.clear_button.clicked.connect(self.clear)
        for button in (self.add_loaded, self.add_file, self.repo, self.add_hub,
                       self.add_reference, self.measure_button, self.clear_button):  # fmt: skip
            buttons.addWidget(button)
        buttons.addStretch(1)
        self.table = QTableWidget(len(ROWS), 0)
        self.table.setVerticalHeaderLabels(list(ROWS))
        self.table.setAccessibleName("The models' characteristics side by side")
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.note = QLabel(
            "Pick two to four models. “not stated” means the file does not say; the API "
            "models' figures are their providers' published ones, dated."
        )
        self.note.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addLayout(buttons)
        layout.addWidget(self.note)
        layout.addWidget(self.table, 1)

    def add(self, facts: ModelFacts) -> None:
        if len(self.models) >= MAX_MODELS:
            self.note.setText(f"At most {MAX_MODELS} models side by side: clear some first.")
            return
        self.models.append(facts)
        self._render()

    def _add_loaded(self) -> None:
        path = self._current_model()
        if path is None:
            self.note.setText("No model is loaded on this computer.")
            return
        self.add_path(path)

    def add_path(self, path: Path) -> None:
        try:
            self.add(local_facts(path))
        except PlaygroundError as exc:
            self.note.setText(str(exc))

    def _add_file(self) -> None:
        path = choose_gguf(self, "A GGUF model")
        if path is not None:
            self.add_path(path)

    def _add_hub(self) -> None:
        repo = self.repo.text().strip()
        if repo.count("/") != 1:
            self.note.setText("Write a Hub repository as owner/name (a course pick completes).")
            return
        self.note.setText(f"Asking the Hub about {repo}…")
        self._thread.worker.lookup(repo)

    def add_references(self) -> None:
        for facts in REFERENCE_MODELS:
            if all(m.name != facts.name for m in self.models):
                self.add(ModelFacts(facts.name, dict(facts.facts)))

    def clear(self) -> None:
        self.models.clear()
        self._render()

    def measure(self) -> None:
        local = [m for m in self.models if m.path is not None]
        if not local:
            self.note.setText("Add a model on this computer to measure its speed here.")
            return
        for facts in local:
            facts.facts["speed here"] = "measuring…"
            assert facts.path is not None
            self._thread.worker.measure(facts.path)
        self._render()

    def _on_failed(self, _path: str, message: str) -> None:
        self.note.setText(message)

    def _on_speed(self, path: str, tokens_per_second: float) -> None:
        for facts in self.models:
            if facts.path is not None and str(facts.path) == path:
                facts.facts["speed here"] = f"{tokens_per_second:.1f} tokens/s (greedy, measured)"
        self._render()

    def _render(self) -> None:
        self.table.setColumnCount(len(self.models))
        self.table.setHorizontalHeaderLabels([m.name for m in self.models])
        for column, facts in enumerate(self.models):
            for row, key in enumerate(ROWS):
                item = QTableWidgetItem(facts.facts.get(key, "not stated"))
                if key == "licence tier":
                    item.setToolTip(TIER_LINES.get(item.text(), ""))  # type: ignore[call-overload]
                self.table.setItem(row, column, item)
        self.table.resizeRowsToContents()

    def close_worker(self) -> None:
        self._thread.close()
