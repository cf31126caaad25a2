"""Help → About: the version and what it runs on, the third-party notices the bundles
carry, and the bundled model's terms."""

from __future__ import annotations

import html
import platform

from PySide6.QtCore import qVersion
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core import paths
from app.core.library import model_terms
from app.core.version import app_version

NOTICES_FILE = "THIRD_PARTY_NOTICES.md"


def notices_text() -> str:
    try:
        return (paths.resources_dir() / NOTICES_FILE).read_text(encoding="utf-8")
    except OSError as exc:
        return f"The notices file is missing from this installation ({exc.strerror})."


def _bindings_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("llama_cpp_python")
    except PackageNotFoundError:
        return "bundled"


def about_html() -> str:
    return (
        f"<h3>LLM Playground {html.escape(app_version())}</h3>"
        "<p>See how a language model writes: every token, its probability, the "
        "alternatives it beat, and what temperature and the decoding strategy change.</p>"
        f"<p>Python {platform.python_version()} · Qt {qVersion()} · llama-cpp-python "
        f"{html.escape(_bindings_version())} (llama.cpp, MIT) · Apache-2.0 licence</p>"
        "<p>Runs on llama.cpp (MIT), Qt for Python (LGPL-3.0, replaceable: see the "
        "notices), pyqtgraph (MIT) and huggingface_hub (Apache-2.0); the bundled model is "
        f"{model_terms.BUNDLED_MODEL} under the Gemma Terms of Use.</p>"
    )


class AboutDialog(QDialog):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("About LLM Playground")
        self.summary = QLabel(about_html())
        self.summary.setWordWrap(True)
        self.summary.setOpenExternalLinks(True)
        self.notices = QTextBrowser()
        self.notices.setOpenExternalLinks(True)
        self.notices.setMarkdown(notices_text())
        self.notices.setAccessibleName("Third-party notices")
        self.terms = QTextBrowser()
        self.terms.setOpenExternalLinks(True)
        self.terms.setHtml(terms_html())
        self.terms.setAccessibleName("The bundled model's terms")
        self.tabs = QTabWidget()
        self.tabs.addTab(self.notices, "Third-party notices")
        self.tabs.addTab(self.terms, "Model terms")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.summary)
        layout.addWidget(self.tabs, 1)
        layout.addWidget(buttons)
        self.resize(680, 560)

    def text(self) -> str:
        """Everything the dialog says, as plain text."""
        return "\n".join(
            (self.summary.text(), self.notices.toPlainText(), self.terms.toPlainText())
        )


def terms_html() -> str:
    url = model_terms.TERMS_URL
    policy = model_terms.PROHIBITED_USE_URL
    return (
        f"<h3>{html.escape(model_terms.BUNDLED_MODEL)}</h3>"
        f"<p>{html.escape(model_terms.SUMMARY)}</p>"
        f'<p>Gemma Terms of Use: <a href="{url}">{url}</a><br>'
        f'Gemma Prohibited Use Policy: <a href="{policy}">{policy}</a></p>'
    )


def show_about(parent: QWidget) -> AboutDialog:
    dialog = AboutDialog(parent)
    dialog.show()
    return dialog
