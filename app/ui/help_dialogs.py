"""Help menu: a glossary of the terms the views use, the keyboard shortcuts, the log
folder, About (in about_dialog)."""

from __future__ import annotations

import html
from collections.abc import Sequence

from PySide6.QtCore import QUrl
from PySide6.QtGui import QAction, QDesktopServices, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QMainWindow,
    QMenu,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from app.core import paths
from app.core.errors import PlaygroundError

GLOSSARY: tuple[tuple[str, str], ...] = (
    (
        "token",
        "The unit a model reads and writes: a word, part of a word, a character or a byte. "
        "The tokenizer splits text into tokens (BPE merges frequent pairs of symbols); each "
        "token has an id in the vocabulary. The Workspace gives each token its own "
        "background.",
    ),
    (
        "logit (z)",
        "The model's raw score for every token of the vocabulary at one step, before "
        "softmax. Only differences between logits matter.",
    ),
    (
        "softmax",
        "Turns logits into probabilities: p<sub>i</sub> = exp(z<sub>i</sub>) / "
        "Σ<sub>j</sub> exp(z<sub>j</sub>), over the whole vocabulary. The model's own "
        "distribution is the softmax at T = 1.",
    ),
    (
        "temperature (T)",
        "Divides the logits before softmax: p = softmax(z / T). Below 1 sharpens the "
        "distribution, above 1 flattens it; T = 0 is the limit where the most likely token "
        "gets everything. Sampling draws at the slider's T; in Greedy and Beam mode the "
        "slider only re-scores the chart (view only).",
    ),
    (
        "probability (p)",
        "How likely the model finds a token. Tooltips, colours, the timeline, CSV and JSON "
        "give the model's own p (T = 1); the chart shows p at the slider's T, with the "
        "model's p in brackets when T is not 1.",
    ),
    (
        "log p",
        "The natural logarithm of a probability (0 for certain, more negative for less "
        "likely). Beam search adds the log p of a sequence's tokens.",
    ),
    (
        "greedy decoding",
        "Always take the most likely token (the argmax). Deterministic.",
    ),
    (
        "sampling",
        "Draw the next token at random from the distribution, after top-k, top-p and "
        "min-p have cut the unlikely tail (llama.cpp's order: top-k, top-p, min-p, then "
        "temperature). A uniform number u in [0, 1) lands on the cumulative sum of the "
        "survivors; the seed fixes every u, step by step.",
    ),
    ("top-k", "Keep only the k most likely tokens (0 = off)."),
    (
        "top-p (nucleus)",
        "Keep the smallest set of most likely tokens whose probabilities add up to p.",
    ),
    ("min-p", "Drop tokens less likely than min-p times the most likely token's probability."),
    (
        "beam search",
        "Keep the B most likely continuations (beams) at every step, ranked by their total "
        "log p (optionally divided by length^α, the length penalty); return the best.",
    ),
    (
        "entropy",
        "How spread out a step's distribution is, in bits: 0 when one token is certain, "
        "log2(n) when n tokens are equally likely. High entropy: the model is unsure.",
    ),
    (
        "surprisal",
        "−log2 p of the token that was chosen, in bits: how surprising it was to the model.",
    ),
    (
        "perplexity",
        "exp of the mean −log p of the generated tokens (the model's own p): the number of "
        "equally likely choices the model was, on average, choosing between.",
    ),
    (
        "rank",
        "A token's place among the step's tokens sorted by probability; rank 1 is the most likely.",
    ),
    (
        "BOS / EOG",
        "Special tokens: beginning of sequence (added before the prompt) and end of "
        "generation (the model says it is done).",
    ),
)


def glossary_html() -> str:
    rows = "".join(f"<dt><b>{html.escape(term)}</b></dt><dd>{text}</dd>" for term, text in GLOSSARY)
    return f"<h3>Glossary</h3><dl>{rows}</dl>"


def shortcuts_html(actions: Sequence[QAction]) -> str:
    rows = "".join(
        f"<tr><td><b>{html.escape(a.shortcut().toString())}</b></td>"
        f"<td>&nbsp;&nbsp;{html.escape(a.text().replace('&', ''))}</td></tr>"
        for a in actions
        if not a.shortcut().isEmpty()
    )
    extra = (
        "<tr><td><b>Tab</b></td><td>&nbsp;&nbsp;in a prompt: move to the next control (paste "
        "a tab character if a prompt needs one)</td>"
        "</tr><tr><td><b>Enter</b></td><td>&nbsp;&nbsp;in the guess box: reveal the token</td>"
        "</tr>"
    )
    return f"<h3>Keyboard shortcuts</h3><table>{rows}{extra}</table>"


class HelpDialog(QDialog):
    """A page of help text (the glossary, the shortcuts) in a scrollable browser."""

    def __init__(self, title: str, page: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle(title)
        self.browser = QTextBrowser()
        self.browser.setHtml(page)
        self.browser.setOpenExternalLinks(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.browser)
        layout.addWidget(buttons)
        self.resize(620, 560 if page.count("<dt>") > 4 else 380)


def show_glossary(parent: QWidget) -> HelpDialog:
    dialog = HelpDialog("Glossary", glossary_html(), parent)
    dialog.show()
    return dialog


def show_shortcuts(parent: QWidget, actions: Sequence[QAction]) -> HelpDialog:
    dialog = HelpDialog("Keyboard shortcuts", shortcuts_html(actions), parent)
    dialog.show()
    return dialog


def open_log_folder() -> bool:
    """Show the folder of the app's log (and llama-server's, the RPC worker's) in the
    system's file manager; False when there is none to show it in."""
    try:
        folder = paths.log_dir()
    except PlaygroundError:
        return False
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(folder)))


def add_help_menu(window: QMainWindow, menu: QMenu) -> None:
    from app.ui.about_dialog import show_about
    from app.ui.window_parts import add_action

    def shortcuts() -> HelpDialog:
        actions = [a for m in window.menuBar().findChildren(QMenu) for a in m.actions()]
        return show_shortcuts(window, actions)

    add_action(
        window,
        menu,
        "Glossary",
        lambda: show_glossary(window),
        QKeySequence.StandardKey.HelpContents,
    )
    add_action(window, menu, "Keyboard shortcuts", shortcuts, "Ctrl+/")
    menu.addSeparator()
    add_action(window, menu, "Open log folder", open_log_folder)
    add_action(window, menu, "About LLM Playground", lambda: show_about(window))
