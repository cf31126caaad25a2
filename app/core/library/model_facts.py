"""Models side by side, as the course's "key characteristics" slide lists them: who made
it, how big, how long a context, when, up to when it knows, its licence and tier, whether
its weights are open, and, for a model on this computer, its quantization, file size, the
memory it needs here and how fast it writes here. What a file does not state says "not
stated". The slide's two API models are reference rows with their published figures,
dated (they cannot run here)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from app.core.gguf.memory_fit import estimate
from app.core.gguf.model_card import read_model_card
from app.core.library.license_tiers import license_info
from app.core.units import format_bytes

NOT_STATED = "not stated"
ROWS = (
    "provider / author", "parameters", "layers", "context window", "maximum output",
    "released / updated", "knowledge cutoff", "licence", "licence tier", "open weights",
    "quantization", "file size", "memory needed here", "price per 1M tokens",
    "speed here",
)  # fmt: skip


@dataclass
class ModelFacts:
    name: str
    facts: dict[str, str]
    path: Path | None = None  # a model on this computer: its speed can be measured


def _author(general: dict[str, object]) -> str:
    for key in ("general.author", "general.organization", "general.quantized_by"):
        value = general.get(key)
        if isinstance(value, str) and value.strip():
            return value.strip()
    return NOT_STATED


def local_facts(path: Path, n_ctx: int = 4096) -> ModelFacts:
    from app.core.gguf.gguf_file import read_gguf

    card = read_model_card(path, require_tensors=False)
    metadata = read_gguf(path, require_tensors=False).metadata
    info = license_info(card.license)
    need = estimate(card.file_size, card, n_ctx=n_ctx)
    updated = metadata.get("general.date") or NOT_STATED
    return ModelFacts(
        name=card.name,
        path=path,
        facts={
            "provider / author": _author(metadata),
            "parameters": card.parameters_label or f"{card.parameters:,}",
            "layers": str(card.layers) if card.layers else NOT_STATED,
            "context window": f"{card.context_length:,}" if card.context_length else NOT_STATED,
            "maximum output": f"up to the context ({card.context_length:,})"
            if card.context_length
            else NOT_STATED,
            "released / updated": str(updated),
            "knowledge cutoff": NOT_STATED,
            "licence": card.license or NOT_STATED,
            "licence tier": info.tier,
            "open weights": "yes (this file)",
            "quantization": card.quantization,
            "file size": format_bytes(card.file_size),
            "memory needed here": f"about {format_bytes(need.total)} at a {n_ctx:,}-token context",
            "price per 1M tokens": "free to run here (your hardware, your electricity)",
            "speed here": "not measured yet",
        },
    )


# What every API model has in common here: proprietary weights that run on the provider's
# servers, so no file, quantization, local memory or local speed.
_API_MODEL = {
    "licence": "proprietary",
    "licence tier": "proprietary",
    "open weights": "no",
    "quantization": "—",
    "file size": "—",
    "memory needed here": "— (runs on the provider's servers)",
    "speed here": "— (API)",
}

# The course slide's API models, with the figures their providers published (as of
# 2024-10; prices change: check the providers' pages).
REFERENCE_MODELS = (
    ModelFacts(
        "GPT-4o (reference, API)",
        {
            "provider / author": "OpenAI",
            "parameters": "not disclosed",
            "layers": "not disclosed",
            "context window": "128,000",
            "maximum output": "16,384 (gpt-4o-2024-08-06)",
            "released / updated": "2024-05-13",
            "knowledge cutoff": "October 2023",
            "price per 1M tokens": "$2.50 input, $10.00 output (2024-10)",
            **_API_MODEL,
        },
    ),
    ModelFacts(
        "Gemini 1.5 Pro (reference, API)",
        {
            "provider / author": "Google",
            "parameters": "not disclosed",
            "layers": "not disclosed",
            "context window": "2,000,000",
            "maximum output": "8,192",
            "released / updated": "2024-02-15 (preview), 2024-05-23 (general)",
            "knowledge cutoff": "November 2023",
            "price per 1M tokens": "$1.25 input, $5.00 output up to 128k tokens (2024-10)",
            **_API_MODEL,
        },
    ),
)


def hub_facts(
    repo_id: str,
    license_id: str | None,
    updated: str | None,
    quant: str | None,
    size: int,
    parameters: str | None = None,
) -> ModelFacts:
    """A Hub repository not downloaded: what the Hub says (its recommended file's size
    and quantization, its licence, when it was last updated); the rest "see its file"."""
    from app.core.gguf.memory_fit import estimate as need_for

    info = license_info(license_id, repo_id)
    later = "in its GGUF (download it to read)"
    return ModelFacts(
        name=repo_id.split("/", 1)[-1],
        facts={
            "provider / author": repo_id.split("/", 1)[0],
            "parameters": parameters or later,
            "layers": later,
            "context window": later,
            "maximum output": later,
            "released / updated": updated or NOT_STATED,
            "knowledge cutoff": NOT_STATED,
            "licence": license_id or NOT_STATED,
            "licence tier": info.tier,
            "open weights": "yes (GGUF files on the Hub)",
            "quantization": quant or NOT_STATED,
            "file size": format_bytes(size) if size else NOT_STATED,
            "memory needed here": f"about {format_bytes(need_for(size).total)}" if size else "—",
            "price per 1M tokens": "free to run here once downloaded",
            "speed here": "download it to measure",
        },
    )
