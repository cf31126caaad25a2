"""A client for llama.cpp's llama-server: every answer checked, every request bounded.

Plain http.client: no redirect is ever followed (an https server that redirects to http
would hand the key to whoever answers there), each request has a timeout, each body a
size limit, and an answer that is not what llama-server sends (invalid JSON, ids or
probabilities out of range) is refused with a message, never passed on.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import ssl
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlsplit

from app.core.backends.server_answers import (
    Completion,
    ServerAuthError,
    ServerBusyError,
    ServerError,
    ServerMissingError,
    ServerProps,
    ServerToken,
    check_int,
    check_object,
    check_piece,
    error_message,
    parse_json,
    parse_token,
)

TIMEOUT_S = 60.0
MAX_EVENT = 4 << 20  # bytes in one streamed event (one token and its alternatives)
MAX_BODY = 16 << 20  # bytes: 4,096 tokens x 20 alternatives is ~6 MB; a flood is refused
MAX_TOKENS_PER_REQUEST = 1 << 16


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
    def _open(
        self, method: str, path: str, body: dict[str, Any] | None
    ) -> tuple[http.client.HTTPConnection, http.client.HTTPResponse]:
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
        with self._transport_errors():
            try:
                connection.request(method, path, body=data, headers=headers)
                return connection, connection.getresponse()
            except BaseException:
                connection.close()
                raise

    @contextlib.contextmanager
    def _transport_errors(self) -> Iterator[None]:
        try:
            yield
        except TimeoutError:
            raise ServerError(f"{self.url} did not answer within {self.timeout:.0f} s") from None
        except ConnectionRefusedError:
            raise ServerError(f"no server answers at {self.url} (connection refused)") from None
        except ssl.SSLError as exc:
            raise ServerError(f"{self.url}: the secure connection failed ({exc.reason})") from None
        except (OSError, http.client.HTTPException) as exc:
            raise ServerError(f"{self.url}: the connection failed ({exc})") from None

    def _request(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        connection, response = self._open(method, path, body)
        try:
            with self._transport_errors():
                raw = response.read(MAX_BODY + 1)
        finally:
            connection.close()
        return self._answer(path, response, raw)

    def _answer(self, path: str, response: http.client.HTTPResponse, raw: bytes) -> Any:
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
        if status >= 400:  # an error page need not be JSON: its status says enough
            try:
                document = parse_json(raw, self.url) if raw else None
            except ServerError:
                document = None
        else:
            document = parse_json(raw, self.url) if raw else None
        if status == 401:
            raise ServerAuthError(f"{self.url} refused the key (401): check the API key")
        if status == 503:
            raise ServerBusyError(f"{self.url} is busy or still loading its model (503)")
        if status in (404, 405):
            raise ServerMissingError(f"{self.url} has no {path} ({status})")
        if status >= 400:
            raise ServerError(f"{self.url} answered {status} for {path}: {error_message(document)}")
        return document

    def _events(self, path: str, body: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """A streamed answer's server-sent events, one JSON object each, until the one
        that says `stop`. A pause longer than the timeout, a broken connection or more
        than MAX_BODY in all ends it with a ServerError."""
        connection, response = self._open("POST", path, body)
        try:
            if response.status != 200:
                with self._transport_errors():
                    raw = response.read(MAX_BODY + 1)
                self._answer(path, response, raw)
                raise ServerError(f"{self.url} answered {response.status} for {path}")
            total = 0
            while True:
                with self._transport_errors():
                    line = response.readline(MAX_EVENT + 1)
                total += len(line)
                if len(line) > MAX_EVENT or total > MAX_BODY:
                    raise ServerError(f"{self.url} sent more than it may for {path}")
                if not line.endswith(b"\n"):  # nothing more, or a line cut off
                    raise ServerError(f"{self.url}: the connection ended before the answer did")
                if not line.startswith(b"data: "):
                    continue  # the blank line between events, comments
                event = check_object(parse_json(line[6:], self.url), "an event")
                yield event
                if event.get("stop") is True:
                    return
        finally:
            connection.close()

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

    def tokenize(
        self, text: str, *, add_special: bool = True, parse_special: bool = True
    ) -> list[tuple[int, bytes]]:
        """(id, piece) of each token; `parse_special` reads "<bos>" and the like in the text
        as special tokens (a template's output), else as plain text (a user's prompt)."""
        body = {
            "content": text,
            "add_special": add_special,
            "parse_special": parse_special,
            "with_pieces": True,
        }
        doc = check_object(
            self._request("POST", "/tokenize", body),
            "/tokenize",
        )
        tokens = doc.get("tokens")
        if not isinstance(tokens, list) or len(tokens) > MAX_BODY // 4:
            raise ServerError(f"{self.url}: /tokenize sent no token list")
        return [
            (check_int(t.get("id"), "token id", 0), check_piece(t.get("piece"))) for t in tokens
        ]

    def apply_template(self, user_text: str) -> str:
        """`user_text` as one user turn through the server's chat template, as text."""
        body = {"messages": [{"role": "user", "content": user_text}]}
        doc = check_object(self._request("POST", "/apply-template", body), "/apply-template")
        prompt = doc.get("prompt")
        if not isinstance(prompt, str):
            raise ServerError(f"{self.url}: /apply-template sent no prompt")
        return prompt

    def vocab_size(self) -> int:
        """The model's vocabulary size, from llama-server's /v1/models (its "meta")."""
        doc = check_object(self._request("GET", "/v1/models"), "/v1/models")
        models = doc.get("data")
        if not isinstance(models, list) or not models:
            raise ServerError(f"{self.url}: /v1/models lists no model")
        meta = check_object(check_object(models[0], "/v1/models").get("meta"), "/v1/models meta")
        return check_int(meta.get("n_vocab"), "n_vocab", 1, 1 << 24)

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
        stop: tuple[str, ...] = (),
        logit_bias: dict[int, float] | None = None,
        on_token: Callable[[ServerToken], None] | None = None,
    ) -> Completion:
        """Continue `prompt_ids`; temperature 0 is greedy. Each token comes with its
        log-probability and the top `n_probs` alternatives, all under the model's own
        distribution (T = 1, before any sampler). With `on_token` the answer is streamed
        and each token handed over as it arrives."""
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
            "stream": on_token is not None,
            # The local engine's chain, in its order; penalties and the rest off.
            "samplers": ["top_k", "top_p", "min_p", "temperature"],
            "repeat_penalty": 1.0,
        }
        if logit_bias:
            body["logit_bias"] = [[token, bias] for token, bias in logit_bias.items()]
        if seed is not None:
            body["seed"] = seed
        if stop:
            body["stop"] = list(stop)
        if on_token is not None:
            return self._streamed(body, n_probs, on_token)
        doc = check_object(self._request("POST", "/completion", body), "/completion")
        probabilities = doc.get("completion_probabilities")
        if not isinstance(probabilities, list) or len(probabilities) > n_predict:
            raise ServerError(f"{self.url}: /completion sent no per-token probabilities")
        tokens = [parse_token(entry, n_probs) for entry in probabilities]
        return _completion(doc, tokens, str(doc.get("content", "")))

    def _streamed(
        self, body: dict[str, Any], n_probs: int, on_token: Callable[[ServerToken], None]
    ) -> Completion:
        tokens: list[ServerToken] = []
        last: dict[str, Any] = {}
        content: list[str] = []
        for event in self._events("/completion", body):
            last = event
            content.append(str(event.get("content", "")))
            probabilities = event.get("completion_probabilities") or []
            if not isinstance(probabilities, list):
                raise ServerError(f"{self.url}: an event's probabilities are not a list")
            for entry in probabilities:
                token = parse_token(entry, n_probs)
                tokens.append(token)
                if len(tokens) > body["n_predict"]:
                    raise ServerError(f"{self.url} sent more tokens than were asked for")
                on_token(token)
        return _completion(last, tokens, "".join(content))


def _completion(doc: dict[str, Any], tokens: list[ServerToken], content: str) -> Completion:
    """The answer's end: why it stopped and the server's own timings."""
    timings = doc.get("timings")
    return Completion(
        tokens,
        str(doc.get("stop_type", "")),
        {k: float(v) for k, v in timings.items() if isinstance(v, (int, float))}
        if isinstance(timings, dict)
        else {},
        content,
    )
