"""A client for llama.cpp's llama-server: every answer checked, every request bounded.

Plain http.client: no redirect is ever followed (an https server that redirects to http
would hand the key to whoever answers there), each request has a timeout, each body a
size limit, and an answer that is not what llama-server sends (invalid JSON, ids or
probabilities out of range) is refused with a message, never passed on.
"""

from __future__ import annotations

import http.client
import json
import math
import ssl
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from app.core.errors import PlaygroundError

TIMEOUT_S = 60.0
MAX_BODY = 16 << 20  # bytes: 4,096 tokens x 20 alternatives is ~6 MB; a flood is refused
MAX_TOKENS_PER_REQUEST = 1 << 16


class ServerError(PlaygroundError):
    pass


class ServerAuthError(ServerError):
    pass


class ServerBusyError(ServerError):
    pass


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


@dataclass(frozen=True)
class ServerProps:
    total_slots: int
    model_path: str
    n_ctx: int
    build_info: str
    chat_template: str


class ServerClient:
    def __init__(self, url: str, api_key: str | None = None, timeout: float = TIMEOUT_S) -> None:
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ServerError(f"{url!r} is not a server address (http://host:port)")
        self.url = f"{parts.scheme}://{parts.netloc}"
        self._https = parts.scheme == "https"
        self._host = parts.hostname
        self._port = parts.port or (443 if self._https else 80)
        self._api_key = api_key
        self.timeout = timeout

    def __repr__(self) -> str:  # the key never appears in logs or tracebacks
        return f"ServerClient({self.url!r})"

    # ---- transport ------------------------------------------------------------------
    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        connection: http.client.HTTPConnection
        if self._https:
            connection = http.client.HTTPSConnection(
                self._host, self._port, timeout=self.timeout, context=ssl.create_default_context()
            )
        else:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self.timeout)
        headers = {"Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self._api_key:
            headers["Authorization"] = f"Bearer {self._api_key}"
        try:
            connection.request(method, path, body=data, headers=headers)
            response = connection.getresponse()
            raw = response.read(MAX_BODY + 1)
        except TimeoutError:
            raise ServerError(f"{self.url} did not answer within {self.timeout:.0f} s") from None
        except ConnectionRefusedError:
            raise ServerError(f"no server answers at {self.url} (connection refused)") from None
        except ssl.SSLError as exc:
            raise ServerError(f"{self.url}: the secure connection failed ({exc.reason})") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ServerError(f"{self.url}: the connection failed ({exc})") from None
        finally:
            connection.close()
        if len(raw) > MAX_BODY:
            raise ServerError(f"{self.url} sent more than {MAX_BODY >> 20} MiB for {path}")
        declared = response.getheader("Content-Length")
        if declared is not None and declared.isdigit() and len(raw) < int(declared):
            raise ServerError(
                f"{self.url}: the connection failed after {len(raw):,} of {int(declared):,} "
                f"bytes of the answer to {path}"
            )
        status = response.status
        if 300 <= status < 400:
            raise ServerError(
                f"{self.url} redirected {path} to {response.getheader('Location')!r}: "
                "refused (the key is sent to this address only)"
            )
        document = _json(raw, self.url) if raw else None
        if status == 401:
            raise ServerAuthError(f"{self.url} refused the key (401): check the API key")
        if status == 503:
            raise ServerBusyError(f"{self.url} is busy or still loading its model (503)")
        if status >= 400:
            raise ServerError(f"{self.url} answered {status} for {path}: {_message(document)}")
        return document

    # ---- endpoints ------------------------------------------------------------------
    def health(self) -> bool:
        """Whether the server has loaded its model and takes requests."""
        try:
            self._request("GET", "/health")
        except ServerBusyError:
            return False
        return True

    def props(self) -> ServerProps:
        doc = check_object(self._request("GET", "/props"), "/props")
        settings = check_object(doc.get("default_generation_settings", {}), "/props")
        return ServerProps(
            total_slots=check_int(doc.get("total_slots"), "/props total_slots", 1, 4096),
            model_path=str(doc.get("model_path", "")),
            n_ctx=check_int(settings.get("n_ctx", 0), "/props n_ctx", 0, 1 << 31),
            build_info=str(doc.get("build_info", "")),
            chat_template=str(doc.get("chat_template", "")),
        )

    def tokenize(self, text: str, *, add_special: bool = True) -> list[tuple[int, bytes]]:
        doc = check_object(
            self._request(
                "POST",
                "/tokenize",
                {"content": text, "add_special": add_special, "with_pieces": True},
            ),
            "/tokenize",
        )
        tokens = doc.get("tokens")
        if not isinstance(tokens, list) or len(tokens) > MAX_BODY // 4:
            raise ServerError(f"{self.url}: /tokenize sent no token list")
        return [
            (check_int(t.get("id"), "token id", 0), check_piece(t.get("piece"))) for t in tokens
        ]

    def detokenize(self, ids: list[int]) -> str:
        doc = check_object(self._request("POST", "/detokenize", {"tokens": ids}), "/detokenize")
        content = doc.get("content")
        if not isinstance(content, str):
            raise ServerError(f"{self.url}: /detokenize sent no text")
        return content

    def complete(
        self,
        prompt_ids: list[int],
        *,
        n_predict: int,
        n_probs: int,
        temperature: float = 0.0,
        top_k: int = 0,
        top_p: float = 1.0,
        min_p: float = 0.0,
        seed: int | None = None,
    ) -> Completion:
        """Continue `prompt_ids`; temperature 0 is greedy. Each token comes with its
        log-probability and the top `n_probs` alternatives, all under the model's own
        distribution (T = 1, before any sampler)."""
        if not 0 < n_predict <= MAX_TOKENS_PER_REQUEST:
            raise ServerError(f"n_predict must be between 1 and {MAX_TOKENS_PER_REQUEST}")
        body: dict[str, Any] = {
            "prompt": prompt_ids,
            "n_predict": n_predict,
            "n_probs": n_probs,
            "temperature": temperature,
            "top_k": top_k,
            "top_p": top_p,
            "min_p": min_p,
            "cache_prompt": True,
            "return_tokens": True,
            "stream": False,
        }
        if seed is not None:
            body["seed"] = seed
        doc = check_object(self._request("POST", "/completion", body), "/completion")
        probabilities = doc.get("completion_probabilities")
        if not isinstance(probabilities, list) or len(probabilities) > n_predict:
            raise ServerError(f"{self.url}: /completion sent no per-token probabilities")
        tokens = [parse_token(entry, n_probs) for entry in probabilities]
        timings = doc.get("timings")
        return Completion(
            tokens,
            str(doc.get("stop_type", "")),
            {k: float(v) for k, v in timings.items() if isinstance(v, (int, float))}
            if isinstance(timings, dict)
            else {},
        )


# ---- checking answers -----------------------------------------------------------------
def _json(raw: bytes, url: str) -> Any:
    try:
        return json.loads(raw)
    except (UnicodeDecodeError, ValueError):
        raise ServerError(f"{url} answered something that is not JSON") from None


def _message(document: Any) -> str:
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
