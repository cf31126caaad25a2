"""Small pieces of the main window and its dialogs: menu actions, fitting the window to a
screen, a dialog's checked OK button."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QByteArray, QRect, QSettings, QSize, Qt
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QMenu,
    QMessageBox,
    QSplitter,
    QWidget,
)

from app.ui.widgets.theme import set_status_style


def add_action(
    owner: QWidget,
    menu: QMenu,
    text: str,
    slot: Callable[[], object],
    shortcut: str | QKeySequence.StandardKey | None = None,
) -> QAction:
    """A menu item that calls `slot`; its shortcut works anywhere in the window."""
    action = QAction(text, owner)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
    action.triggered.connect(lambda _checked=False: slot())
    menu.addAction(action)
    return action


def fit_window(
    window: QWidget, available: QRect, preferred: QSize, *, keep_size: bool = False
) -> None:
    """Size and place the window inside `available` (a screen's free area): the
    preferred size where it fits, never larger than the area, centred in it."""
    # The frame (title bar, borders) is outside the window's own size.
    frame_w, frame_h = 16, 48
    width = window.width() if keep_size else preferred.width()
    height = window.height() if keep_size else preferred.height()
    width = min(width, available.width() - frame_w)
    height = min(height, available.height() - frame_h)
    window.resize(max(width, window.minimumWidth()), max(height, window.minimumHeight()))
    x = available.x() + max(0, (available.width() - window.width() - frame_w) // 2)
    y = available.y() + max(0, (available.height() - window.height() - frame_h) // 2)
    window.move(x, y)


def restore_geometry(
    window: QWidget, store: QSettings, splitter: QSplitter, preferred: QSize
) -> None:
    """The window's last size and place (kept on the screen it is on) and the workspace's
    splitter, as the user left them."""
    geometry = store.value("window/geometry")
    restored = isinstance(geometry, QByteArray) and not geometry.isEmpty()
    if restored:
        window.restoreGeometry(geometry)
    screen = window.screen() or QGuiApplication.primaryScreen()
    if screen is not None and not window.isMaximized():
        fit_window(window, screen.availableGeometry(), preferred, keep_size=restored)
    state = store.value("window/splitter")
    if isinstance(state, QByteArray) and not state.isEmpty():
        splitter.restoreState(state)


def save_geometry(window: QWidget, store: QSettings, splitter: QSplitter) -> None:
    """What restore_geometry reads, written to disk now (the app may not quit cleanly)."""
    store.setValue("window/geometry", window.saveGeometry())
    store.setValue("window/splitter", splitter.saveState())
    store.sync()


def add_checked_buttons(
    dialog: QDialog, form: QFormLayout, ok_text: str, check: Callable[[], None]
) -> QLabel:
    """OK (named `ok_text`) and Cancel at the foot of `form`, with the label above them
    where `check` (run on OK; it accepts the dialog when all is well) says what is wrong."""
    error = QLabel("")
    error.setWordWrap(True)
    set_status_style(error, "error")
    form.addRow(error)
    buttons = QDialogButtonBox(
        QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
    )
    buttons.button(QDialogButtonBox.StandardButton.Ok).setText(ok_text)
    buttons.accepted.connect(check)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    return error


def warning_box(parent: QWidget, title: str, text: str) -> QMessageBox:
    """A window-modal warning, opened (not exec'd: the engine keeps reporting meanwhile)."""
    box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.Ok, parent)
    box.setWindowModality(Qt.WindowModality.WindowModal)
    box.open()
    return box


def accept_gguf(event: QDragEnterEvent) -> None:
    """A drag over the window is welcome when it carries a .gguf file."""
    urls = event.mimeData().urls()
    if urls and urls[0].toLocalFile().lower().endswith(".gguf"):
        event.acceptProposedAction()


def drop_gguf(event: QDropEvent, open_path: Callable[[str], None]) -> None:
    urls = event.mimeData().urls()
    if urls:
        open_path(urls[0].toLocalFile())
        event.acceptProposedAction()


def labelled_row(label: str, widget: QWidget) -> QHBoxLayout:
    """`label` then `widget`, at the left of a row."""
    row = QHBoxLayout()
    row.addWidget(QLabel(label))
    row.addWidget(widget)
    row.addStretch(1)
    return row
