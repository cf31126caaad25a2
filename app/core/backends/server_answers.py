"""What llama-server and OpenAI-compatible servers answer, as records, and the checks every
answer passes before it is used: ids in range, log-probabilities that are numbers <= 0,
pieces that are text or bytes, objects where objects belong."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import Any

from app.core.errors import PlaygroundError


class ServerError(PlaygroundError):
    pass


class ServerAuthError(ServerError):
    pass


class ServerBusyError(ServerError):
    pass


class ServerMissingError(ServerError):
    """The server has no such endpoint (404, 405): another kind of server."""


@dataclass(frozen=True)
class Alternative:
    id: int
    piece: bytes
    logprob: float


@dataclass(frozen=True)
class ServerToken:
    """One generated token as the server reports it: its log-probability under the
    model's distribution at T = 1 and the top alternatives (at most n_probs)."""

    id: int
    piece: bytes
    logprob: float
    top: list[Alternative]


@dataclass(frozen=True)
class Completion:
    tokens: list[ServerToken]
    stop_type: str  # "eos", "limit", "word" or "none"
    timings: dict[str, float] = field(default_factory=dict)
    content: str = ""  # the text, as the server renders it (no end-of-generation token)


@dataclass(frozen=True)
class ServerProps:
    total_slots: int
    model_path: str
    n_ctx: int
    build_info: str
    chat_template: str


def parse_json(raw: bytes, url: str) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ServerError(f"{url} answered something that is not JSON") from None


def error_message(document: Any) -> str:
    if isinstance(document, dict):
        error = document.get("error")
        if isinstance(error, dict) and isinstance(error.get("message"), str):
            return str(error["message"])[:300]
    return "no message"


def check_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ServerError(f"{what}: the server's answer is not a JSON object")
    return value


def check_int(value: Any, what: str, low: int = 0, high: int = (1 << 31) - 1) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ServerError(f"{what}: {value!r} is not an integer in [{low}, {high}]")
    return value


def check_logprob(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ServerError(f"{what}: {value!r} is not a number")
    number = float(value)
    # -inf is a real answer (a token the sampler could never pick); NaN or > 0 is not.
    if math.isnan(number) or number > 1e-6:
        raise ServerError(f"{what}: {value!r} is not a log-probability")
    return min(number, 0.0)


def check_piece(value: Any) -> bytes:
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, list) and all(isinstance(b, int) and 0 <= b <= 255 for b in value):
        return bytes(value)
    raise ServerError(f"a token piece {value!r:.60} is neither text nor bytes")


def parse_token(entry: Any, n_probs: int) -> ServerToken:
    doc = check_object(entry, "a token's probabilities")
    top = doc.get("top_logprobs", [])
    if not isinstance(top, list) or len(top) > max(n_probs, 0):
        raise ServerError("a token's alternatives are missing or more than asked for")
    return ServerToken(
        id=check_int(doc.get("id"), "token id"),
        piece=check_piece(doc.get("bytes", doc.get("token", ""))),
        logprob=check_logprob(doc.get("logprob"), "logprob"),
        top=[
            Alternative(
                check_int(check_object(a, "an alternative").get("id"), "alternative id"),
                check_piece(a.get("bytes", a.get("token", ""))),
                check_logprob(a.get("logprob"), "alternative logprob"),
            )
            for a in top
        ],
    )
