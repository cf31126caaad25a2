"""A model's card: what its GGUF metadata says, what the Hub says, and the memory it needs
for the chosen context length and offload."""

from __future__ import annotations

import html
from dataclasses import dataclass

from PySide6.QtWidgets import QTextBrowser

from app.core.gguf.memory_fit import MemoryNeed, SystemMemory, Verdict
from app.core.gguf.model_card import ModelCard
from app.core.hub.hub_client import RepoDetails
from app.core.units import format_age, format_bytes, format_count
from app.ui.models.repo_files_panel import FIT_KINDS
from app.ui.widgets.license_text import license_html
from app.ui.widgets.theme import status_color


@dataclass(frozen=True)
class CardFacts:
    card: ModelCard
    need: MemoryNeed
    verdict: Verdict
    memory: SystemMemory
    n_ctx: int
    gpu_layers: int
    spread: str = ""  # over the RPC workers in Settings, when there are any


def _row(name: str, value: object) -> str:
    return f"<tr><td style='color:#666;padding-right:14px'>{name}</td><td>{value}</td></tr>"


class ModelCardView(QTextBrowser):
    def __init__(self) -> None:
        super().__init__()
        self.setOpenExternalLinks(False)
        self.hub_line = ""
        self.facts: CardFacts | None = None

    def show_card(self, facts: CardFacts, hub_pending: bool) -> None:
        self.facts = facts
        self.hub_line = _row("On the Hub", "<i>looking up…</i>") if hub_pending else ""
        self._render()

    def show_hub(self, details: RepoDetails | None, problem: str = "") -> None:
        if details is not None:
            self.hub_line = _row(
                "On the Hub",
                f"{html.escape(details.repo_id)} · {format_count(details.downloads)} downloads · "
                f"{format_count(details.likes)} likes · updated "
                f"{format_age(details.last_modified)}",
            ) + _row("License (Hub)", license_html(details.license, details.repo_id))
        else:
            self.hub_line = _row("On the Hub", html.escape(problem))
        self._render()

    def show_problem(self, title: str, message: str) -> None:
        self.facts = None
        self.setHtml(f"<h3>{html.escape(title)}</h3><p>{html.escape(message)}</p>")

    def _render(self) -> None:
        if self.facts is None:
            return
        f = self.facts
        c = f.card
        kind = "instruct (chat)" if c.instruct else "base (continues text)"
        heads = f"{c.heads}" + (f" ({c.kv_heads} for keys/values)" if c.kv_heads else "")
        rows = [
            _row("Architecture", html.escape(c.architecture)),
            _row("Parameters", f"{c.parameters_label} ({c.parameters:,})"),
            _row("Layers", c.layers or "?"),
            _row("Embedding width", c.embedding_length or "?"),
            _row("Attention heads", heads),
            _row("Trained context", f"{c.context_length:,} tokens" if c.context_length else "?"),
            _row(
                "Vocabulary",
                f"{c.vocab_size:,} tokens · {html.escape(c.tokenizer_type)}"
                + (f" · {c.merges:,} merges" if c.merges else ""),
            ),
            _row("Quantization", html.escape(c.quantization)),
            _row("File size", format_bytes(c.file_size)),
            _row("License (file)", license_html(c.license)),
            _row("Kind", kind),
            _row("Chat template", "yes" if c.chat_template else "none"),
        ]
        color = status_color(FIT_KINDS[f.verdict]).name()
        offload = (
            f"{f.gpu_layers} layers on the GPU ({format_bytes(f.need.vram)} VRAM), "
            if f.need.vram
            else ""
        )
        memory = (
            f"about {format_bytes(f.need.total)} for {f.n_ctx:,} tokens of context "
            f"({offload}KV cache {format_bytes(f.need.kv_cache)}) — "
            f"<b style='color:{color}'>{f.verdict}</b> in "
            f"{format_bytes(f.memory.total)} RAM ({format_bytes(f.memory.available)} free)"
        )
        rows.append(_row("Memory", memory))
        if f.spread:
            rows.append(_row("RPC workers", html.escape(f.spread)))
        self.setHtml(
            f"<h3 style='margin-bottom:4px'>{html.escape(c.name)}</h3>"
            f"<div style='color:#666'>{html.escape(c.file)}</div>"
            f"<table cellspacing='3'>{''.join(rows)}{self.hub_line}</table>"
        )
