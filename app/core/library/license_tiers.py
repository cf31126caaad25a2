"""Licence tiers, in one place: from a Hub licence id (and, for the few fully open model
families, the repository) to the tier the course's licensing slide names, with a line in
plain language and the licence's text.

- open source: weights, code and training data released (a licence alone cannot say
  this, so it is known per model family: OLMo, Pythia, SmolLM, LLM360);
- open weights: a permissive licence with few restrictions (Apache-2.0, MIT, BSD...);
- restricted open weights: weights you may download, under use restrictions or thresholds
  (Llama community licences, Gemma terms, non-commercial and RAIL licences);
- proprietary: API access only;
- unknown: no licence stated, or one this table does not know ("other").
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Tier = Literal["open source", "open weights", "restricted open weights", "proprietary", "unknown"]

TIER_LINES: dict[Tier, str] = {
    "open source": "Weights, code and training data are released: you can study and rebuild it.",
    "open weights": "Weights under a permissive licence: use, change and share them, even "
    "commercially, keeping the licence notice.",
    "restricted open weights": "You may download and run the weights, but the licence "
    "restricts some uses (a use policy, user thresholds, non-commercial, attribution).",
    "proprietary": "Only reachable through the provider's API; the weights are not released.",
    "unknown": "The licence is not stated or not one this app knows: read the model card "
    "before using it.",
}


@dataclass(frozen=True)
class LicenseInfo:
    id: str
    name: str
    tier: Tier
    url: str

    @property
    def line(self) -> str:
        return TIER_LINES[self.tier]


def _lic(id_: str, name: str, tier: Tier, url: str) -> LicenseInfo:
    return LicenseInfo(id_, name, tier, url)


_CHOOSE = "https://choosealicense.com/licenses/"
LICENSES: dict[str, LicenseInfo] = {
    info.id: info
    for info in (
        _lic("apache-2.0", "Apache License 2.0", "open weights", _CHOOSE + "apache-2.0/"),
        _lic("mit", "MIT License", "open weights", _CHOOSE + "mit/"),
        _lic("bsd-3-clause", "BSD 3-Clause", "open weights", _CHOOSE + "bsd-3-clause/"),
        _lic("bsd-2-clause", "BSD 2-Clause", "open weights", _CHOOSE + "bsd-2-clause/"),
        _lic("cc-by-4.0", "CC BY 4.0", "open weights", "https://creativecommons.org/licenses/by/4.0/"),
        _lic("cc-by-sa-4.0", "CC BY-SA 4.0", "open weights", "https://creativecommons.org/licenses/by-sa/4.0/"),
        _lic("gpl-3.0", "GNU GPL v3", "open weights", _CHOOSE + "gpl-3.0/"),
        _lic("lgpl-3.0", "GNU LGPL v3", "open weights", _CHOOSE + "lgpl-3.0/"),
        _lic("agpl-3.0", "GNU AGPL v3", "open weights", _CHOOSE + "agpl-3.0/"),
        _lic("cc0-1.0", "CC0 1.0", "open weights", "https://creativecommons.org/publicdomain/zero/1.0/"),
        _lic("unlicense", "The Unlicense", "open weights", _CHOOSE + "unlicense/"),
        _lic("cc-by-nc-4.0", "CC BY-NC 4.0 (non-commercial)", "restricted open weights", "https://creativecommons.org/licenses/by-nc/4.0/"),
        _lic("cc-by-nc-sa-4.0", "CC BY-NC-SA 4.0 (non-commercial)", "restricted open weights", "https://creativecommons.org/licenses/by-nc-sa/4.0/"),
        _lic("llama2", "Llama 2 Community License", "restricted open weights", "https://ai.meta.com/llama/license/"),
        _lic("llama3", "Meta Llama 3 Community License", "restricted open weights", "https://www.llama.com/llama3/license/"),
        _lic("llama3.1", "Llama 3.1 Community License", "restricted open weights", "https://www.llama.com/llama3_1/license/"),
        _lic("llama3.2", "Llama 3.2 Community License", "restricted open weights", "https://www.llama.com/llama3_2/license/"),
        _lic("llama3.3", "Llama 3.3 Community License", "restricted open weights", "https://www.llama.com/llama3_3/license/"),
        _lic("llama4", "Llama 4 Community License", "restricted open weights", "https://www.llama.com/llama4/license/"),
        _lic("gemma", "Gemma Terms of Use", "restricted open weights", "https://ai.google.dev/gemma/terms"),
        _lic("openrail", "OpenRAIL", "restricted open weights", "https://www.licenses.ai/"),
        _lic("openrail++", "OpenRAIL++-M", "restricted open weights", "https://www.licenses.ai/"),
        _lic("creativeml-openrail-m", "CreativeML OpenRAIL-M", "restricted open weights", "https://www.licenses.ai/"),
        _lic("bigscience-openrail-m", "BigScience OpenRAIL-M", "restricted open weights", "https://www.licenses.ai/"),
        _lic("bigscience-bloom-rail-1.0", "BigScience BLOOM RAIL 1.0", "restricted open weights", "https://bigscience.huggingface.co/blog/the-bigscience-rail-license"),
        _lic("bigcode-openrail-m", "BigCode OpenRAIL-M", "restricted open weights", "https://www.licenses.ai/"),
        _lic("deepseek", "DeepSeek License", "restricted open weights", "https://github.com/deepseek-ai/DeepSeek-LLM/blob/main/LICENSE-MODEL"),
        _lic("qwen", "Qwen License", "restricted open weights", "https://huggingface.co/Qwen"),
        _lic("mrl", "Mistral Research License", "restricted open weights", "https://mistral.ai/licenses/MRL-0.1.md"),
        _lic("proprietary", "Proprietary (API only)", "proprietary", ""),
    )
}  # fmt: skip

# Model families that release their training data and code with the weights, by the
# repository's name (GGUF re-uploads keep it: bartowski/SmolLM2-360M-Instruct-GGUF).
OPEN_SOURCE_FAMILIES = re.compile(r"^(olmo|pythia|smollm|amber|crystal)", re.IGNORECASE)


def license_info(license_id: str | None, repo_id: str | None = None) -> LicenseInfo:
    """The tier of `license_id` (a Hub id such as "apache-2.0"), or of the repository's
    family when it is one that releases everything. Unknown ids say so."""
    key = (license_id or "").strip().lower()
    known = LICENSES.get(key)
    name_part = (repo_id or "").rsplit("/", 1)[-1]
    family = bool(repo_id) and OPEN_SOURCE_FAMILIES.match(name_part) is not None
    if family and (known is None or known.tier == "open weights"):
        name = known.name if known else (license_id or "not stated")
        return LicenseInfo(key or "open", name, "open source", known.url if known else "")
    if known is not None:
        return known
    name = "not stated" if not key else ("other (see the model card)" if key == "other" else key)
    return LicenseInfo(key or "none", name, "unknown", "")
