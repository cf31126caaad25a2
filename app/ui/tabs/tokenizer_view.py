"""The Tokenizer tab: any text as the model's tokens, counts and an illustrative price,
the ids (and ids back to text), and a step-by-step replay of the BPE merges."""

from __future__ import annotations

import itertools
import re
from pathlib import Path

from PySide6.QtCore import Qt, QTimer
from PySide6.QtGui import QTextCursor
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMenu,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from app.core.errors import PlaygroundError
from app.core.tokenizer.reference_tokenizers import available_reference_tokenizers
from app.core.tokenizer.replay_steps import Replay
from app.core.tokenizer.text_tokens import (
    PRICE_PRESETS,
    count,
    decode_text,
    differing_tokens,
    parse_ids,
)
from app.ui.tabs.merge_replay_panel import MergeReplayPanel
from app.ui.widgets.theme import set_status_style
from app.ui.widgets.token_chips import TokenChips
from app.workers.tokenizer_worker import TokenizedText, TokenizeRequest, TokenizerWorker

COURSE_SENTENCE = (
    "Byte pair encoding (also known as digram coding) is an algorithm, first described in "
    "1994, for encoding strings of text into smaller strings. ¿Qué tal? 大语言模型 😀"
)
DEBOUNCE_MS = 250
MAX_COMPARED = 3  # other tokenizers shown beside the model's own
IDS_SLICE = 200_000  # characters of the IDs view filled per event-loop pass


class TokenizerView(QWidget):
    def __init__(self, worker: TokenizerWorker, parent: QWidget | None = None) -> None:
        """`worker` runs on a thread of its own, which the window owns and closes."""
        super().__init__(parent)
        self._worker = worker
        worker.sig_tokenized.connect(self._on_tokenized)
        worker.sig_progress.connect(self._on_progress)
        worker.sig_decoded.connect(self._on_decoded)
        worker.sig_replay.connect(self._on_replay)
        worker.sig_failed.connect(self._on_failed)
        self._ids = itertools.count(1)
        self._request = 0
        self.model_path = "default"
        self.result: TokenizedText | None = None
        self.compared: list[ComparedTokenizer] = []
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(DEBOUNCE_MS)
        self._debounce.timeout.connect(self.tokenize)
        self.merges = MergeReplayPanel()
        self.merges.replay_button.clicked.connect(lambda: self.start_replay())
        self._build()

    # ---- layout -------------------------------------------------------------------
    def _build(self) -> None:
        self.input = QPlainTextEdit(COURSE_SENTENCE)
        self.input.setAccessibleName("Text to tokenize")
        self.input.setPlaceholderText("Type or paste any text")
        self.input.textChanged.connect(self._debounce.start)
        self.open_button = QPushButton("Open text file…")
        self.open_button.clicked.connect(lambda: self.open_file_dialog())
        self.vocab_box = QCheckBox("Vocabulary strings (Ġ ▁ <0x..>)")
        self.whitespace_box = QCheckBox("Show whitespace (␣ ↵ →)")
        for box in (self.vocab_box, self.whitespace_box):
            box.toggled.connect(lambda _on: self._apply_options())
        self.bos_box = QCheckBox("Add BOS")
        self.bos_box.setChecked(True)
        self.bos_box.setToolTip("Tokenize as the model sees a prompt (with its BOS token)")
        self.bos_box.toggled.connect(lambda _on: self.tokenize())
        options = QHBoxLayout()
        options.addWidget(self.open_button)
        options.addWidget(self.bos_box)
        options.addWidget(self.vocab_box)
        options.addWidget(self.whitespace_box)
        options.addStretch(1)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setToolTip("Stop tokenizing this (long) text")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(lambda: self._worker.stop())
        options.addWidget(self.cancel_button)
        self.warning = QLabel("")
        set_status_style(self.warning, "warning")
        options.addWidget(self.warning)

        self.chips = TokenChips()
        self.chips.token_clicked.connect(self._on_token_clicked)
        self.counts = QLabel("")
        self.counts.setWordWrap(True)
        # A constant height: a label that grew would resize (and re-lay out) the chips.
        self.counts.setFixedHeight(self.counts.fontMetrics().lineSpacing() * 2 + 6)

        self.price_preset = QComboBox()
        for preset in PRICE_PRESETS:
            self.price_preset.addItem(preset.name, preset)
        self.price_in = QDoubleSpinBox(minimum=0.0, maximum=1000.0, decimals=2, value=5.0)
        self.price_in.setAccessibleName("Price per million input tokens")
        self.price_in.setPrefix("$")
        self.price_in.setSuffix(" / M input")
        self.price_out = QDoubleSpinBox(minimum=0.0, maximum=1000.0, decimals=2, value=15.0)
        self.price_out.setAccessibleName("Price per million output tokens")
        self.price_out.setPrefix("$")
        self.price_out.setSuffix(" / M output")
        self.price_preset.currentIndexChanged.connect(self._on_preset)
        for spin in (self.price_in, self.price_out):
            spin.valueChanged.connect(lambda _v: self._show_counts())
        self.cost = QLabel("")
        self.cost.setWordWrap(True)
        self.cost.setFixedHeight(self.cost.fontMetrics().lineSpacing() * 2 + 6)
        self.cost.setMinimumWidth(120)
        prices = QHBoxLayout()
        prices.addWidget(QLabel("Price"))
        prices.addWidget(self.price_preset)
        prices.addWidget(self.price_in)
        prices.addWidget(self.price_out)
        prices.addStretch(1)

        self.ids_view = QPlainTextEdit()
        self.ids_view.setAccessibleName("Token ids")
        self.ids_view.setPlaceholderText("Token ids (paste ids here and press Decode)")
        self.decode_button = QPushButton("Decode ids")
        self.decode_button.clicked.connect(lambda: self.decode_ids())
        self.decoded = QLabel("")
        self.decoded.setWordWrap(True)
        self.decoded.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        ids_box = QWidget()
        ids_layout = QVBoxLayout(ids_box)
        ids_layout.setContentsMargins(0, 0, 0, 0)
        ids_header = QHBoxLayout()
        ids_header.addWidget(QLabel("IDs"))
        ids_header.addStretch(1)
        ids_header.addWidget(self.decode_button)
        ids_layout.addLayout(ids_header)
        ids_layout.addWidget(self.ids_view, 1)
        ids_layout.addWidget(self.decoded)

        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(0, 0, 0, 0)
        left_layout.addWidget(QLabel("Text"))
        left_layout.addWidget(self.input, 1)
        left_layout.addLayout(options)
        left_layout.addWidget(QLabel("Tokens (hover for details, click to select)"))
        left_layout.addWidget(self.chips, 2)
        left_layout.addWidget(self.counts)
        left_layout.addLayout(prices)
        left_layout.addWidget(self.cost)  # its own row: two lines at any window width
        self.compare_button = QPushButton("Compare with another tokenizer…")
        self.compare_button.setToolTip(
            "The same text through another GGUF's tokenizer (loaded vocabulary-only); tokens "
            "split differently are outlined in red"
        )
        compare_menu = QMenu(self.compare_button)
        for reference in available_reference_tokenizers():
            action = compare_menu.addAction(f"{reference.name} (reference, {reference.licence})")
            action.triggered.connect(
                lambda _checked=False, p=str(reference.path): self.add_compared(p)
            )
        compare_menu.addSeparator()
        compare_menu.addAction("Another GGUF file…", self.add_compare_dialog)
        self.compare_button.setMenu(compare_menu)
        compare_row = QHBoxLayout()
        compare_row.addWidget(self.compare_button)
        self.compare_note = QLabel(
            "<span style='color:#be123c'>red dashed outline</span>: a token the tokenizers "
            "split differently"
        )
        self.compare_note.setVisible(False)
        compare_row.addWidget(self.compare_note)
        compare_row.addStretch(1)
        left_layout.addLayout(compare_row)
        self._compare_box = QVBoxLayout()
        left_layout.addLayout(self._compare_box)
        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(ids_box)
        right.addWidget(self.merges)
        right.setSizes([200, 560])  # the replay needs the room more than the ids
        splitter = QSplitter(Qt.Orientation.Horizontal)
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 2)
        splitter.setSizes([820, 460])
        layout = QVBoxLayout(self)
        layout.addWidget(splitter)

    # ---- tokenizing ---------------------------------------------------------------
    def set_model(self, path: str) -> None:
        """The model whose tokenizer is shown ('default' or a GGUF path)."""
        self.model_path = path
        self.tokenize()

    def tokenize(self) -> None:
        self._request = next(self._ids)
        text = self.input.toPlainText()
        add_bos = self.bos_box.isChecked()
        self._worker.tokenize(TokenizeRequest(self._request, self.model_path, text, add_bos))
        for other in self.compared:
            other.request = next(self._ids)
            other.result = None
            self._worker.tokenize(TokenizeRequest(other.request, other.path, text, add_bos))

    # ---- comparing tokenizers -------------------------------------------------------
    def add_compare_dialog(self) -> None:
        path, _f = QFileDialog.getOpenFileName(
            self, "A GGUF whose tokenizer to compare", str(Path.home()), "GGUF (*.gguf)"
        )
        if path:
            self.add_compared(path)

    def add_compared(self, path: str) -> ComparedTokenizer | None:
        if len(self.compared) >= MAX_COMPARED:
            return None
        other = ComparedTokenizer(path)
        other.remove_button.clicked.connect(lambda: self.remove_compared(other))
        other.replay_button.clicked.connect(lambda: self.start_replay(other.path))
        self.compared.append(other)
        self._compare_box.addWidget(other)
        self.compare_note.setVisible(True)
        self._apply_options()
        self.compare_button.setEnabled(len(self.compared) < MAX_COMPARED)
        self.tokenize()
        return other

    def remove_compared(self, other: ComparedTokenizer) -> None:
        if other in self.compared:
            self.compared.remove(other)
            other.setParent(None)
            other.deleteLater()
            self.compare_button.setEnabled(True)
            self.compare_note.setVisible(bool(self.compared))
            self._mark_differences()

    def _mark_differences(self) -> None:
        results = [self.result, *(o.result for o in self.compared)]
        if any(r is None for r in results) or not self.compared:
            self.chips.set_differing(set())
            return
        infos = [r.infos for r in results if r is not None]
        views = [self.chips, *(o.chips for o in self.compared)]
        for k, view in enumerate(views):
            view.set_differing(differing_tokens(infos[k], infos[:k] + infos[k + 1 :]))

    def open_file_dialog(self) -> None:
        path, _f = QFileDialog.getOpenFileName(self, "Open a text file", str(Path.home()))
        if path:
            self.open_file(Path(path))

    def open_file(self, path: Path) -> None:
        try:
            text, replaced = decode_text(path.read_bytes())
        except OSError as exc:
            self.warning.setText(f"{path.name}: cannot read: {exc.strerror or exc}")
            return
        except PlaygroundError as exc:
            self.warning.setText(f"{path.name}: {exc}")
            return
        self.input.setPlainText(text)
        self.warning.setText(
            f"{path.name} is not valid UTF-8: invalid bytes are shown as �" if replaced else ""
        )

    def _on_progress(self, request_id: int, done: int, total: int) -> None:
        if request_id == self._request:
            self.counts.setText(f"Tokenizing… {done:,} of {total:,} tokens")
            self.cancel_button.setVisible(True)

    def _on_tokenized(self, request_id: int, result: TokenizedText) -> None:
        for other in self.compared:
            if request_id == other.request:
                other.show_result(result)
                self._mark_differences()
                return
        if request_id != self._request:
            return
        self.cancel_button.setVisible(False)
        self.result = result
        self.chips.show_tokens(result.infos, result.split)
        self._show_counts()
        self._mark_differences()
        # In the next pass: one event-loop pass need not carry both.
        QTimer.singleShot(0, lambda: self._show_ids(request_id, result.ids_text))

    def _show_ids(self, request_id: int, text: str, start: int = 0) -> None:
        """The ids in slices, one per event-loop pass (a megabyte's ids are 1.7 MB)."""
        if request_id != self._request:
            return
        end = text.find("\n", start + IDS_SLICE) if len(text) > start + IDS_SLICE else -1
        chunk = text[start:] if end < 0 else text[start:end]
        if start == 0:
            self.ids_view.setPlainText(chunk)
        else:
            cursor = QTextCursor(self.ids_view.document())
            cursor.movePosition(QTextCursor.MoveOperation.End)
            cursor.insertText(chunk)
        if end >= 0:
            QTimer.singleShot(0, lambda: self._show_ids(request_id, text, end))

    def _on_failed(self, request_id: int, message: str) -> None:
        if request_id == self._request:
            self.cancel_button.setVisible(False)
            self.warning.setText(
                "Tokenizing was cancelled: edit the text to start again"
                if message == "cancelled"
                else message
            )

    def _apply_options(self) -> None:
        """The display options apply to every tokenizer shown, compared ones included."""
        for chips in [self.chips, *(other.chips for other in self.compared)]:
            chips.set_options(
                vocabulary=self.vocab_box.isChecked(),
                whitespace=self.whitespace_box.isChecked(),
            )

    def _on_preset(self, index: int) -> None:
        preset = self.price_preset.itemData(index)
        self.price_in.setValue(preset.input_per_million)
        self.price_out.setValue(preset.output_per_million)

    def _show_counts(self) -> None:
        result = self.result
        if result is None:
            return
        c = result.counts or count(result.text, result.infos)
        added = f" (+{c.added} added by the model: BOS)" if c.added else ""
        self.counts.setText(
            f"<b>{c.tokens:,} tokens</b>{added} · {c.characters:,} characters · {c.bytes:,} "
            f"bytes · {c.characters_per_token:.2f} characters per token · "
            f"{c.bytes_per_token:.2f} bytes per token · {result.name}, vocabulary of "
            f"{result.vocab_size:,} ({result.tokenizer or 'unknown'} tokenizer)"
        )
        price_in = c.cost(self.price_in.value())
        price_out = c.cost(self.price_out.value())
        self.cost.setText(
            f"≈ ${price_in:.6f} as input, ${price_out:.6f} as output — an estimate: counted "
            f"with {result.name}'s tokenizer, not {self.price_preset.currentText()}'s"
        )

    def _on_token_clicked(self, index: int) -> None:
        """Select the token's id in the IDs view too."""
        text = self.ids_view.toPlainText()
        spans = [m.span() for m in re.finditer(r"\d+", text)]
        if index < len(spans):
            cursor = self.ids_view.textCursor()
            cursor.setPosition(spans[index][0])
            cursor.setPosition(spans[index][1], cursor.MoveMode.KeepAnchor)
            self.ids_view.setTextCursor(cursor)
        info = self.chips.infos[index]
        piece = info.piece.decode("utf-8", "replace")
        if piece.strip():  # exactly the chip's text: a leading space is part of the token
            self.merges.set_chip(piece, info.id)

    def decode_ids(self) -> None:
        vocab_size = self.result.vocab_size if self.result is not None else 2**31
        try:
            ids = parse_ids(self.ids_view.toPlainText(), vocab_size)
        except PlaygroundError as exc:
            self.decoded.setText(str(exc))
            return
        self._worker.decode(self._request, self.model_path, ids)

    def _on_decoded(self, request_id: int, text: str) -> None:
        if request_id == self._request:
            self.decoded.setText(f"Decoded: {text}")

    # ---- replay -------------------------------------------------------------------
    def start_replay(self, path: str | None = None) -> None:
        """Replay the selection (or the replay box's text) with the model's tokenizer, or
        with the compared tokenizer at `path`."""
        # Qt writes a selection's line breaks as U+2029; the text is replayed as selected.
        selected = self.input.textCursor().selectedText().replace("\u2029", "\n")
        text = self.merges.begin(selected, Path(path).stem if path else "")
        if text:
            self._worker.replay(self._request, path or self.model_path, text)

    def _on_replay(self, request_id: int, replay: Replay) -> None:
        if request_id == self._request:
            self.merges.show_replay(replay)

    def close_worker(self) -> None:
        self.merges.stop()
        self._debounce.stop()


class ComparedTokenizer(QWidget):
    """Another model's tokenizer on the same text: its facts and its chips."""

    def __init__(self, path: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.path = path
        self.request = -1
        self.result: TokenizedText | None = None
        self.label = QLabel(f"{Path(path).name}: tokenizing…")
        self.remove_button = QPushButton("Remove")
        self.replay_button = QPushButton("Replay")
        self.replay_button.setToolTip("Replay the text step by step with this tokenizer")
        self.replay_button.setAccessibleName(f"Replay with {Path(path).name}")
        header = QHBoxLayout()
        header.addWidget(self.label, 1)
        header.addWidget(self.replay_button)
        header.addWidget(self.remove_button)
        self.chips = TokenChips()
        self.chips.setFixedHeight(110)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 0)
        layout.addLayout(header)
        layout.addWidget(self.chips)

    def show_result(self, result: TokenizedText) -> None:
        self.result = result
        counts = result.counts or count(result.text, result.infos)
        self.label.setText(
            f"<b>{result.name}</b> ({Path(self.path).name}): {counts.tokens:,} tokens · "
            f"vocabulary {result.vocab_size:,} · {result.tokenizer or 'unknown'} tokenizer"
        )
        self.chips.show_tokens(result.infos, result.split)
