"""Save and open a workspace session: model identity, settings, prompt and every step.

The file is JSON. Each step keeps its full summarised distribution (head ids and logits,
tail histogram) so an opened session re-scores at any temperature exactly as the live
run did. Arrays are stored as base64 of little-endian bytes: a step of Gemma 3 is about
30 KB that way, against several times that as JSON numbers.
"""

from __future__ import annotations

import base64
import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from app.core.atomic_file import write_atomic
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_distribution import StepDistribution
from app.core.decoding.step_records import (
    BeamNode,
    ChosenBy,
    Distribution,
    SampleRecord,
    TokenStep,
)
from app.core.decoding.top_n_distribution import TopNDistribution
from app.core.errors import PlaygroundError
from app.core.runs.run_record import RunRecord, RunStats
from app.core.state_file import parse_json

FORMAT = "llm-playground-session"
VERSION = 1


class SessionFileError(PlaygroundError):
    """A session file that cannot be read, with the reason."""


def _pack(array: npt.NDArray[Any], dtype: str) -> dict[str, str]:
    data = np.ascontiguousarray(array, dtype=np.dtype(dtype).newbyteorder("<"))
    return {"dtype": dtype, "data": base64.b64encode(data.tobytes()).decode("ascii")}


_DTYPES = {"int32", "uint16", "float32", "float64"}


def _unpack(obj: Any, what: str) -> npt.NDArray[Any]:
    if not isinstance(obj, dict) or obj.get("dtype") not in _DTYPES:
        raise SessionFileError(f"{what}: expected an array with a dtype")
    dtype = np.dtype(obj["dtype"]).newbyteorder("<")
    try:
        raw = base64.b64decode(obj["data"], validate=True)
    except (KeyError, ValueError, TypeError) as exc:
        raise SessionFileError(f"{what}: the array data is not base64") from exc
    if len(raw) % dtype.itemsize:
        raise SessionFileError(f"{what}: the array data has a partial element")
    return np.frombuffer(raw, dtype=dtype).astype(dtype.newbyteorder("="))


def _distribution_to_json(dist: Distribution) -> dict[str, Any]:
    if isinstance(dist, TopNDistribution):  # a server's top N: log p at T = 1
        return {
            "kind": "top_n",
            "vocab_size": dist.vocab_size,
            "top_n": dist.top_n,
            "head_ids": _pack(dist.head_ids, "int32"),
            "head_logprobs": _pack(dist.head_logits, "float64"),
        }
    return {
        "vocab_size": dist.vocab_size,
        "max_logit": dist.max_logit,
        "head_ids": _pack(dist.head_ids, "int32"),
        "head_logits": _pack(dist.head_logits, "float32"),
        "tail_first_bin": dist.tail_first_bin,
        "tail_counts": _pack(dist.tail_counts, str(dist.tail_counts.dtype)),
    }


def _top_n_from_json(d: dict[str, Any], what: str) -> TopNDistribution:
    head_ids = _unpack(d.get("head_ids"), f"{what} head ids").astype(np.int32)
    logprobs = _unpack(d.get("head_logprobs"), f"{what} log-probabilities").astype(np.float64)
    vocab_size = _integer(d, "vocab_size", what)
    top_n = _integer(d, "top_n", what)
    if head_ids.size == 0 or head_ids.size != logprobs.size or not 0 < top_n <= head_ids.size:
        raise SessionFileError(f"{what}: the server's top tokens are inconsistent")
    if head_ids.min() < 0 or head_ids.max() >= vocab_size:
        raise SessionFileError(f"{what}: a token id is outside the vocabulary")
    if np.isnan(logprobs).any() or (logprobs > 1e-6).any() or np.any(np.diff(logprobs) > 0):
        raise SessionFileError(f"{what}: the log-probabilities are not sorted numbers <= 0")
    return TopNDistribution(vocab_size, head_ids, np.minimum(logprobs, 0.0), top_n)


def _step_to_json(step: TokenStep) -> dict[str, Any]:
    dist = step.distribution
    doc: dict[str, Any] = {
        "index": step.index,
        "step": step.number,  # as the window, CSV and JSON number it
        "id": step.id,
        "piece": step.piece.hex(),
        "logit": step.logit,
        "temperature": step.temperature,
        "forced": step.forced,
        "chosen_by": step.chosen_by,
        "ends_generation": step.ends_generation,
        "distribution": _distribution_to_json(dist),
    }
    if step.sample is not None:
        doc["sample"] = {
            "survivor_ids": _pack(step.sample.survivor_ids, "int32"),
            "survivor_probs": _pack(step.sample.survivor_probs, "float64"),
            "uniform": step.sample.uniform,
            "chosen_index": step.sample.chosen_index,
            "temperature": step.sample.temperature,
        }
    return doc


def _number(doc: dict[str, Any], key: str, what: str) -> float:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise SessionFileError(f"{what}: '{key}' must be a finite number")
    return float(value)


def _integer(doc: dict[str, Any], key: str, what: str) -> int:
    value = doc.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise SessionFileError(f"{what}: '{key}' must be an integer")
    return value


def _chosen_by(value: Any) -> ChosenBy:
    return value if value in ("greedy", "sample", "beam") else ""


def _full_from_json(d: dict[str, Any], what: str) -> StepDistribution:
    head_ids = _unpack(d.get("head_ids"), f"{what} head ids")
    head_logits = _unpack(d.get("head_logits"), f"{what} head logits")
    tail_counts = _unpack(d.get("tail_counts"), f"{what} tail counts")
    vocab_size = _integer(d, "vocab_size", what)
    if head_ids.size == 0 or head_ids.size != head_logits.size:
        raise SessionFileError(f"{what}: head ids and logits differ in length")
    if head_ids.min() < 0 or head_ids.max() >= vocab_size:
        raise SessionFileError(f"{what}: a token id is outside the vocabulary")
    return StepDistribution(
        vocab_size=vocab_size,
        max_logit=_number(d, "max_logit", what),
        head_ids=head_ids.astype(np.int32),
        head_logits=head_logits.astype(np.float32),
        tail_first_bin=_integer(d, "tail_first_bin", what),
        tail_counts=tail_counts,
    )


def _step_from_json(doc: Any, position: int, eog_ids: frozenset[int]) -> TokenStep:
    what = f"step {position + 1}"
    if not isinstance(doc, dict) or not isinstance(doc.get("distribution"), dict):
        raise SessionFileError(f"{what}: expected an object with a distribution")
    d = doc["distribution"]
    top_n = d.get("kind") == "top_n"
    dist: Distribution = _top_n_from_json(d, what) if top_n else _full_from_json(d, what)
    sample = None
    if isinstance(doc.get("sample"), dict):
        s = doc["sample"]
        survivors = _unpack(s.get("survivor_ids"), f"{what} survivors").astype(np.int32)
        probs = _unpack(s.get("survivor_probs"), f"{what} survivor probabilities")
        chosen = _integer(s, "chosen_index", what)
        if survivors.size != probs.size or not 0 <= chosen < survivors.size:
            raise SessionFileError(f"{what}: the sample record is inconsistent")
        # Sessions of earlier versions kept the sampling T as the step's own.
        sample_t = s.get("temperature", doc.get("temperature", 1.0))
        sample = SampleRecord(
            survivors,
            probs.astype(np.float64),
            _number(s, "uniform", what),
            chosen,
            _number({"temperature": sample_t}, "temperature", what),
        )
    try:
        piece = bytes.fromhex(str(doc.get("piece", "")))
    except ValueError as exc:
        raise SessionFileError(f"{what}: the piece is not hex") from exc
    token_id = _integer(doc, "id", what)
    return TokenStep(
        index=_integer(doc, "index", what),
        id=token_id,
        piece=piece,
        logit=_number(doc, "logit", what),
        temperature=_number(doc, "temperature", what),
        distribution=dist,
        sample=sample,
        forced=bool(doc.get("forced", False)),
        chosen_by=_chosen_by(doc.get("chosen_by")),
        # Sessions of earlier versions list the run's end-of-generation ids instead.
        ends_generation=bool(doc.get("ends_generation", token_id in eog_ids)),
    )


@dataclass(frozen=True)
class SessionView:
    """How the workspace showed the run: the chart's temperature, step and K."""

    temperature: float = 1.0
    selected_step: int = -1
    top_k_shown: int = 10
    color_mode: str = "boundaries"
    show_whitespace: bool = False


@dataclass(frozen=True)
class Session:
    record: RunRecord
    model_name: str
    model_sha256: str
    view: SessionView


def session_to_json(
    record: RunRecord, model_name: str, model_sha256: str, view: SessionView
) -> dict[str, Any]:
    settings = asdict(record.settings)
    settings["stop"] = list(record.settings.stop)
    return {
        "format": FORMAT,
        "version": VERSION,
        "model": {"file": model_name, "sha256": model_sha256},
        "view": asdict(view),
        "settings": settings,
        "prompt": record.prompt,
        "stop_reason": record.stop_reason,
        "stats": asdict(record.stats),
        "steps": [_step_to_json(step) for step in record.steps],
        "beam_nodes": [{**asdict(n), "piece": n.piece.hex()} for n in record.beam_nodes],
        "beam_path": record.beam_path,
        "pieces": {str(i): piece.hex() for i, piece in sorted(record.pieces.items())},
    }


def save_session(
    path: Path, record: RunRecord, model_name: str, model_sha256: str, view: SessionView
) -> None:
    document = session_to_json(record, model_name, model_sha256, view)
    # A crash mid-write never leaves half a session behind.
    write_atomic(path, json.dumps(document, ensure_ascii=False))


def _settings_from_json(doc: Any) -> DecodingSettings:
    if not isinstance(doc, dict):
        raise SessionFileError("the settings are missing")
    known = DecodingSettings.__dataclass_fields__
    values = {k: v for k, v in doc.items() if k in known}
    values["stop"] = tuple(str(s) for s in values.get("stop", ()))
    try:
        return DecodingSettings(**values).validated()
    except (TypeError, PlaygroundError) as exc:
        raise SessionFileError(f"the settings are invalid: {exc}") from exc


def _node_from_json(doc: Any) -> BeamNode:
    if not isinstance(doc, dict):
        raise SessionFileError("a beam node is not an object")
    try:
        return BeamNode(**{**doc, "piece": bytes.fromhex(doc["piece"])})
    except (TypeError, KeyError, ValueError) as exc:
        raise SessionFileError(f"a beam node is invalid: {exc}") from exc


def _object(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _view_from_json(doc: dict[str, Any]) -> SessionView:
    defaults = SessionView()
    try:
        return SessionView(
            temperature=float(doc.get("temperature", defaults.temperature)),
            selected_step=int(doc.get("selected_step", defaults.selected_step)),
            top_k_shown=int(doc.get("top_k_shown", defaults.top_k_shown)),
            color_mode=str(doc.get("color_mode", defaults.color_mode)),
            show_whitespace=bool(doc.get("show_whitespace", defaults.show_whitespace)),
        )
    except (TypeError, ValueError) as exc:
        raise SessionFileError(f"the view settings are invalid: {exc}") from exc


def load_session(path: Path) -> Session:
    try:
        document = parse_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise SessionFileError(f"{path.name}: no such file") from exc
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise SessionFileError(f"{path.name}: not a session file ({exc})") from exc
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise SessionFileError(f"{path.name}: not an LLM Playground session")
    if document.get("version") != VERSION:
        raise SessionFileError(
            f"{path.name}: session format version {document.get('version')} is not supported"
        )
    model = _object(document.get("model"))
    steps_doc = document.get("steps")
    if not isinstance(steps_doc, list):
        raise SessionFileError(f"{path.name}: the steps are missing")
    stats_doc = _object(document.get("stats"))
    try:
        eog_ids = frozenset(int(i) for i in document.get("eog_ids", []))
        record = RunRecord(
            prompt=str(document.get("prompt", "")),
            settings=_settings_from_json(document.get("settings")),
            steps=[_step_from_json(s, i, eog_ids) for i, s in enumerate(steps_doc)],
            stop_reason=str(document.get("stop_reason", "")),
            stats=RunStats(
                tokens_per_second=float(stats_doc.get("tokens_per_second", 0.0)),
                time_to_first_token=float(stats_doc.get("time_to_first_token", 0.0)),
            ),
            beam_nodes=[_node_from_json(n) for n in document.get("beam_nodes", [])],
            beam_path=[int(i) for i in document.get("beam_path", [])],
            pieces={int(i): bytes.fromhex(h) for i, h in dict(document.get("pieces", {})).items()},
        )
        view = _view_from_json(_object(document.get("view")))
    except SessionFileError as exc:
        raise SessionFileError(f"{path.name}: {exc}") from exc
    except (TypeError, ValueError) as exc:
        raise SessionFileError(f"{path.name}: invalid value ({exc})") from exc
    return Session(record, str(model.get("file", "")), str(model.get("sha256", "")), view)
