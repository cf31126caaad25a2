"""Light and dark: the colours that depend on the system's palette, applied again live
when it changes (a desktop switching to its dark theme, the app's palette set anew).

Status text (errors, warnings, notes) is marked with `set_status_style`; plots made with
`plot_style.make_static` and widgets with a `refresh_theme()` method are told too. The
token colours (light bands under dark text) read on both and stay as they are.
"""

from __future__ import annotations

from typing import Literal

from PySide6.QtCore import QEvent, QObject
from PySide6.QtGui import QColor, QFont, QFontDatabase, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication, QWidget

StatusKind = Literal["", "error", "warning", "note", "ok"]
STATUS_PROPERTY = "status_kind"
# (light palette, dark palette): contrast of at least 4.5:1 on each one's window colour.
STATUS_COLORS: dict[str, tuple[str, str]] = {
    "error": ("#b3261e", "#f28b82"),
    "warning": ("#8a5300", "#fbbf24"),
    "note": ("#4b5563", "#9ca3af"),
    "ok": ("#1b7f3b", "#81c995"),
}


def is_dark(palette: QPalette | None = None) -> bool:
    palette = palette or QGuiApplication.palette()
    return palette.color(QPalette.ColorRole.Window).lightness() < 128


def status_color(kind: str, palette: QPalette | None = None) -> QColor:
    light, dark = STATUS_COLORS[kind]
    return QColor(dark if is_dark(palette) else light)


def set_status_style(widget: QWidget, kind: StatusKind) -> None:
    """Colour `widget`'s text as an error, a warning or a note (or plain: "")."""
    widget.setProperty(STATUS_PROPERTY, kind)
    _apply_status(widget)


def _apply_status(widget: QWidget) -> None:
    kind = widget.property(STATUS_PROPERTY) or ""
    if kind:
        widget.setStyleSheet(f"color: {status_color(str(kind)).name()}")
    else:
        widget.setStyleSheet("")


def fixed_font(point_size: int) -> QFont:
    """The system's fixed-width font (DejaVu Sans Mono, Consolas, Menlo...), at a size."""
    font = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
    font.setStyleHint(QFont.StyleHint.Monospace)
    font.setPointSize(point_size)
    return font


def refresh_all() -> None:
    """Apply the current palette to every status text, plot and themed widget."""
    from app.ui.widgets.plot_style import PLOT_PROPERTY, apply_plot_palette

    for widget in QApplication.allWidgets():
        if widget.property(STATUS_PROPERTY) is not None:
            _apply_status(widget)
        if widget.property(PLOT_PROPERTY):
            apply_plot_palette(widget)
        refresh = getattr(widget, "refresh_theme", None)
        if callable(refresh):
            refresh()


class ThemeWatcher(QObject):
    """Installed on the application: a palette change re-themes every view."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if (
            event.type() == QEvent.Type.ApplicationPaletteChange
            and watched is QApplication.instance()
        ):
            refresh_all()
        return False


def watch_theme(app: QApplication) -> ThemeWatcher:
    watcher = ThemeWatcher(app)
    app.installEventFilter(watcher)
    return watcher
