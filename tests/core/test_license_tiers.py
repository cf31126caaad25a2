"""Licence tiers: every licence of the course's catalog and the Hub's common licence ids
has a tier, a line in plain language and a link; unknown ones say so."""

from __future__ import annotations

import pytest
from fakehub.server import FakeHub

from app.core.hub.hub_client import HubClient
from app.core.library.catalog import load_catalog
from app.core.library.license_tiers import LICENSES, TIER_LINES, license_info

HUB_COMMON = (
    "apache-2.0", "mit", "bsd-3-clause", "cc-by-4.0", "cc-by-sa-4.0", "cc-by-nc-4.0",
    "cc-by-nc-sa-4.0", "gpl-3.0", "llama2", "llama3", "llama3.1", "llama3.2", "llama3.3",
    "llama4", "gemma", "openrail", "creativeml-openrail-m", "bigscience-openrail-m",
    "bigcode-openrail-m", "deepseek", "qwen", "mrl",
)  # fmt: skip


def test_every_catalog_licence_has_a_tier() -> None:
    for entry in load_catalog():
        info = license_info(entry.license, entry.repo)
        assert info.tier != "unknown", entry
        assert info.url.startswith("https://") and info.line == TIER_LINES[info.tier]


@pytest.mark.parametrize("license_id", HUB_COMMON)
def test_the_hubs_common_licence_ids_have_tiers(license_id: str) -> None:
    info = license_info(license_id)
    assert info.id in LICENSES and info.tier in ("open weights", "restricted open weights")


def test_tiers_that_need_more_than_the_licence_id() -> None:
    assert license_info("apache-2.0", "bartowski/SmolLM2-360M-Instruct-GGUF").tier == (
        "open source"  # weights, code and training data released
    )
    assert license_info("apache-2.0", "Qwen/Qwen2.5-0.5B-Instruct-GGUF").tier == "open weights"
    assert license_info("llama3.2", "allenai/OLMo-fake").tier == "restricted open weights"
    other = license_info("other")
    assert other.tier == "unknown" and "model card" in other.name
    assert license_info(None).name == "not stated" and license_info("").tier == "unknown"
    assert license_info("proprietary").tier == "proprietary"


def test_hub_search_results_carry_their_licence(fake_hub: FakeHub) -> None:
    found = HubClient(fake_hub.endpoint, token=False).search("")
    licences = {m.repo_id: m.license for m in found}
    assert licences["acme/Tiny-GGUF"] == fake_hub.repos["acme/Tiny-GGUF"].license
