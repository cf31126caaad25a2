"""Before the bundled model is first used: its terms, to accept or decline."""

from __future__ import annotations

import html
from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget

from app.core.library import model_terms


def ask_terms(
    parent: QWidget, accepted: Callable[[], None], declined: Callable[[], None]
) -> QMessageBox:
    """Ask once (window-modal, not blocking the engine); Accept is remembered."""
    box = QMessageBox(parent)
    box.setWindowTitle(f"{model_terms.BUNDLED_MODEL}: terms of use")
    box.setIcon(QMessageBox.Icon.Information)
    box.setTextFormat(Qt.TextFormat.RichText)
    summary = html.escape(model_terms.SUMMARY)
    for url in (model_terms.TERMS_URL, model_terms.PROHIBITED_USE_URL):
        summary = summary.replace(url, f'<a href="{url}">{url}</a>')
    box.setText(
        f"<p>{summary}</p>"
        "<p>Accept them to use the bundled model. Declining leaves the window open: "
        "download or open another model (Models tab, File → Open GGUF model).</p>"
    )
    accept = box.addButton("Accept and load", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Decline", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(accept)
    box.setWindowModality(Qt.WindowModality.WindowModal)

    def answered() -> None:
        if box.clickedButton() is accept:
            model_terms.accept_terms()
            accepted()
        else:
            declined()

    box.finished.connect(lambda _result: answered())
    box.open()
    return box
