"""Models side by side: the loaded model beside the course's two API models, every
characteristic row filled (or "not stated"), tiers named, the speed measured here."""

from __future__ import annotations

from collections.abc import Callable

from pytestqt.qtbot import QtBot

from app.core.library.model_facts import REFERENCE_MODELS, ROWS
from app.ui.main_window import MainWindow


def test_the_loaded_model_beside_gpt4o_and_gemini(
    qtbot: QtBot, workspace: Callable[[], MainWindow]
) -> None:
    window = workspace()
    view = window.course.side_by_side
    view._add_loaded()
    view.add_references()
    assert [m.name for m in view.models] == ["Gemma 3 270m", *(m.name for m in REFERENCE_MODELS)]
    assert all(set(m.facts) == set(ROWS) for m in view.models)
    table = view.table
    column = {table.horizontalHeaderItem(c).text(): c for c in range(table.columnCount())}

    def cell(row: str, model: str) -> str:
        return table.item(ROWS.index(row), column[model]).text()

    assert cell("parameters", "Gemma 3 270m") == "270M"
    assert cell("layers", "Gemma 3 270m") == "18"
    assert cell("licence tier", "Gemma 3 270m") == "restricted open weights"
    assert cell("knowledge cutoff", "Gemma 3 270m") == "not stated"
    assert cell("context window", "GPT-4o (reference, API)") == "128,000"
    assert cell("licence tier", "Gemini 1.5 Pro (reference, API)") == "proprietary"
    assert "2024-10" in cell("price per 1M tokens", "GPT-4o (reference, API)")
    view.measure()
    qtbot.waitUntil(lambda: "tokens/s" in cell("speed here", "Gemma 3 270m"), timeout=120_000)
    view.add_references()  # no duplicates
    assert len(view.models) == 3


def test_a_hub_repository_beside_the_loaded_model(
    qtbot: QtBot, workspace: Callable[[], MainWindow], fake_hub: object, monkeypatch: object
) -> None:
    from fakehub.server import FakeHub
    from huggingface_hub import constants

    assert isinstance(fake_hub, FakeHub)
    monkeypatch.setattr(constants, "ENDPOINT", fake_hub.endpoint)  # type: ignore[attr-defined]
    window = workspace()
    view = window.course.side_by_side
    view.repo.setText("acme")
    view._add_hub()
    assert "owner/name" in view.note.text()
    view.repo.setText("acme/Tiny-GGUF")
    view._add_hub()
    qtbot.waitUntil(lambda: len(view.models) == 1, timeout=30_000)
    facts = view.models[0].facts
    assert facts["provider / author"] == "acme" and facts["quantization"] == "Q4_K_M"
    assert facts["licence tier"] == "open weights"  # acme/Tiny-GGUF is apache-2.0
    assert facts["released / updated"][:4].isdigit()
