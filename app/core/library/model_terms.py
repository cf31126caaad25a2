"""The bundled model's terms of use: shown, and accepted, before its first use.

Gemma's terms ask that whoever passes the model on gives its users this notice; the app
shows it with a link to the full terms before it first loads the bundled model, and
remembers the acceptance in its config folder. The About box shows it too.
"""

from __future__ import annotations

import json
import logging
from datetime import datetime, timezone
from pathlib import Path

from app.core import paths
from app.core.errors import PlaygroundError
from app.core.state_file import read_state, write_state

log = logging.getLogger(__name__)

BUNDLED_MODEL = "Gemma 3 270M"
TERMS_ID = "gemma-terms-of-use"
TERMS_URL = "https://ai.google.dev/gemma/terms"
PROHIBITED_USE_URL = "https://ai.google.dev/gemma/prohibited_use_policy"
NOTICE = f"Gemma is provided under and subject to the Gemma Terms of Use found at {TERMS_URL}."
SUMMARY = (
    f"The bundled model, {BUNDLED_MODEL}, is Google's Gemma. {NOTICE} Using it means "
    "agreeing to those terms and to the Gemma Prohibited Use Policy "
    f"({PROHIBITED_USE_URL}). Other models you download or open keep their own licences."
)


def _record() -> Path | None:
    try:
        return paths.config_dir() / "accepted-terms.json"
    except PlaygroundError:
        return None


def terms_accepted() -> bool:
    record = _record()
    data = read_state(record) if record is not None else None
    return isinstance(data, dict) and isinstance(data.get(TERMS_ID), str)


def accept_terms() -> None:
    """Remember the acceptance (the date it was given); a folder that cannot be written
    only means the question comes again next time."""
    record = _record()
    if record is None:
        return
    data = read_state(record)
    document = data if isinstance(data, dict) else {}
    document[TERMS_ID] = datetime.now(timezone.utc).isoformat(timespec="seconds")
    write_state(record, json.dumps(document, indent=1))
