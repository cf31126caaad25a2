"""The File menu's run files: save and open a Workspace session, export its steps as CSV
and its chart as PNG or SVG, each asking for a path in the folder used last."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QWidget

from app.core.errors import PlaygroundError
from app.core.runs.session_file import load_session, save_session
from app.core.runs.step_export import export_steps_csv
from app.ui.tabs.workspace_view import WorkspaceView
from app.ui.widgets.chart_export import export_png, export_svg
from app.ui.window_store import window_store
from app.workers.engine_requests import ModelLoaded

Notify = Callable[[str, int], None]
ShowError = Callable[[str, str], None]


class RunFiles(QObject):
    def __init__(
        self,
        window: QWidget,
        workspace: WorkspaceView,
        model_identity: Callable[[], tuple[str, str]],
        notify: Notify,
        show_error: ShowError,
        show_workspace: Callable[[], None],
    ) -> None:
        """`model_identity` gives the loaded model's file name and sha256 ("" when none)."""
        super().__init__(window)
        self._window = window
        self._workspace = workspace
        self._model_identity = model_identity
        self._notify = notify
        self._show_error = show_error
        self._show_workspace = show_workspace
        self._settings = window_store()

    def save_session(self, path: Path) -> None:
        record = self._workspace.record
        if record is None:
            return
        name, sha = self._model_identity()
        save_session(path, record, name, sha, self._workspace.view_state())
        self._notify(f"Saved {path.name}", 4000)

    def open_session(self, path: Path) -> None:
        if self._workspace.running:
            return
        try:
            session = load_session(path)
        except PlaygroundError as exc:
            self._show_error("The session could not be opened", str(exc))
            return
        self._workspace.show_run(session.record, session.view)
        self._show_workspace()
        note = f"Opened {path.name}"
        current = self._model_identity()[0] if session.model_name else ""
        if session.model_name and current and session.model_name != current:
            note += f" (made with {session.model_name}; {current} is loaded)"
        self._notify(note, 8000)

    def export_csv(self, path: Path) -> None:
        record = self._workspace.record
        if record is not None:
            export_steps_csv(path, record, record.piece_of, self._workspace.chart.temperature)
            self._notify(f"Exported {len(record.steps)} steps to {path.name}", 4000)

    def export_chart(self, path: Path) -> bool:
        """The chart as PNG (twice the screen's resolution) or, for a .svg name, SVG."""
        chart = self._workspace.chart
        svg = path.suffix.lower() == ".svg"
        saved = export_svg(chart, path) if svg else export_png(chart, path)
        if saved:
            self._notify(f"Saved the chart to {path.name}", 4000)
        return bool(saved)

    def _ask_path(self, title: str, name: str, pattern: str, save: bool = True) -> Path | None:
        last_dir = str(self._settings.value("files/last_dir", str(Path.home())))
        start = str(Path(last_dir) / name)
        window = self._window
        if save:
            chosen, _f = QFileDialog.getSaveFileName(window, title, start, pattern)
        else:
            chosen, _f = QFileDialog.getOpenFileName(
                window, title, str(Path(start).parent), pattern
            )
        if not chosen:
            return None
        self._settings.setValue("files/last_dir", str(Path(chosen).parent))
        return Path(chosen)

    def save_session_dialog(self) -> None:
        path = self._ask_path("Save session", "session.llmp.json", "Sessions (*.json)")
        if path:
            try:
                self.save_session(path)
            except OSError as exc:
                self._show_error("The session could not be saved", str(exc))

    def open_session_dialog(self) -> None:
        path = self._ask_path("Open session", "", "Sessions (*.json);;All files (*)", save=False)
        if path:
            self.open_session(path)

    def export_csv_dialog(self) -> None:
        path = self._ask_path("Export steps", "steps.csv", "CSV (*.csv)")
        if path:
            try:
                self.export_csv(path)
            except OSError as exc:
                self._show_error("The steps could not be exported", str(exc))

    def export_chart_dialog(self) -> None:
        path = self._ask_path(
            "Export chart", "chart.png", "PNG images (*.png);;SVG drawings (*.svg)"
        )
        if path and not self.export_chart(path):
            self._show_error("The chart could not be saved", f"could not write {path}")


class ModelHashes:
    """The loaded model's sha256, computed on the engine thread after loading (or here,
    when a session is saved before that finished), for the session's model identity."""

    def __init__(self, notify: Callable[[str], None]) -> None:
        self._notify = notify
        self._hashes: dict[str, str] = {}

    def remember(self, path: str, sha256: str) -> None:
        self._hashes[path] = sha256

    def identity(self, model: ModelLoaded | None) -> tuple[str, str]:
        """(name, sha256) of the model a session was made with."""
        if model is None:
            return "", ""
        if model.remote is not None:  # no file here to hash
            return model.remote.describe(), ""
        sha = self._hashes.get(str(model.path))
        if sha is None:
            from app.core.library.file_hash import cached_sha256

            self._notify("Computing the model's sha256…")
            sha = cached_sha256(model.path)
            self._hashes[str(model.path)] = sha
        return model.path.name, sha
