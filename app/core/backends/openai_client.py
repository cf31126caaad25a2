"""A client for OpenAI-compatible completion servers (vLLM, llama-server's /v1, Ollama,
LM Studio): the same per-token records as llama-server's own /completion, from
`/v1/completions` with `logprobs`.

Two answer shapes exist. llama-server sends `logprobs.content`, one object per token with
its id, bytes and `top_logprobs`. vLLM and OpenAI send the legacy columns `tokens`,
`token_logprobs` and `top_logprobs` (a {token text: logprob} per position); asked with
`return_tokens_as_token_ids`, vLLM writes each token as "token_id:<id>", which is how the
ids are known. Servers cap the alternatives (vLLM's --max-logprobs is 20 by default): the
client never asks for more than MAX_LOGPROBS and says the rest is not known.
"""

from __future__ import annotations

from typing import Any

from app.core.backends.server_answers import (
    Alternative,
    Completion,
    ServerError,
    ServerToken,
    check_int,
    check_logprob,
    check_object,
    check_piece,
    parse_token,
)
from app.core.backends.server_client import ServerClient

MAX_LOGPROBS = 20
TOKEN_ID_PREFIX = "token_id:"


class OpenAIClient(ServerClient):
    def models(self) -> list[str]:
        doc = check_object(self._request("GET", "/v1/models"), "/v1/models")
        data = doc.get("data")
        if not isinstance(data, list):
            raise ServerError(f"{self.url}: /v1/models sent no model list")
        return [str(check_object(m, "a model").get("id", "")) for m in data]

    def complete_v1(
        self,
        model: str,
        prompt: str | list[int],
        *,
        max_tokens: int,
        logprobs: int,
        temperature: float = 0.0,
        top_p: float = 1.0,
        seed: int | None = None,
    ) -> Completion:
        """`prompt` continued by `model`; each token with at most min(logprobs, 20)
        alternatives under the model's distribution."""
        asked = min(max(logprobs, 0), MAX_LOGPROBS)
        body: dict[str, Any] = {
            "model": model,
            "prompt": prompt,
            "max_tokens": max_tokens,
            "logprobs": asked,
            "temperature": temperature,
            "top_p": top_p,
            "return_tokens_as_token_ids": True,  # vLLM: ids instead of texts
        }
        if seed is not None:
            body["seed"] = seed
        doc = check_object(self._request("POST", "/v1/completions", body), "/v1/completions")
        choices = doc.get("choices")
        if not isinstance(choices, list) or not choices:
            raise ServerError(f"{self.url}: /v1/completions sent no choice")
        choice = check_object(choices[0], "a choice")
        stop = str(choice.get("finish_reason") or "")
        columns = check_object(choice.get("logprobs"), "logprobs")
        if "content" in columns:
            content = columns["content"]
            if not isinstance(content, list) or len(content) > max_tokens:
                raise ServerError(f"{self.url}: logprobs.content is not one entry per token")
            return Completion([parse_token(entry, asked) for entry in content], stop)
        return Completion(legacy_tokens(columns, asked, max_tokens), stop)


def _legacy_id(text: Any) -> tuple[int, bytes]:
    if not isinstance(text, str):
        raise ServerError(f"a token {text!r:.40} is not text")
    if text.startswith(TOKEN_ID_PREFIX):
        number = text[len(TOKEN_ID_PREFIX) :]
        if not number.isdigit():
            raise ServerError(f"a token {text!r:.40} names no id")
        return check_int(int(number), "token id"), b""
    return -1, check_piece(text)  # a server that names tokens only by their text


def legacy_tokens(columns: dict[str, Any], asked: int, max_tokens: int) -> list[ServerToken]:
    """The legacy logprobs columns as per-token records (ids known only when the server
    wrote them as "token_id:<id>"; otherwise -1 and the token's text)."""
    tokens = columns.get("tokens")
    logprobs = columns.get("token_logprobs")
    tops = columns.get("top_logprobs") or [{} for _ in tokens or []]
    if not (
        isinstance(tokens, list)
        and isinstance(logprobs, list)
        and isinstance(tops, list)
        and len(tokens) == len(logprobs) == len(tops)
        and len(tokens) <= max_tokens
    ):
        raise ServerError("the logprobs columns do not line up, one entry per token")
    out = []
    for text, logprob, top in zip(tokens, logprobs, tops, strict=True):
        token_id, piece = _legacy_id(text)
        top_doc = check_object(top or {}, "top_logprobs")
        if len(top_doc) > asked:
            raise ServerError("a token has more alternatives than were asked for")
        alternatives = []
        for alt_text, alt_logprob in top_doc.items():
            alt_id, alt_piece = _legacy_id(alt_text)
            alternatives.append(
                Alternative(alt_id, alt_piece, check_logprob(alt_logprob, "logprob"))
            )
        alternatives.sort(key=lambda a: -a.logprob)
        out.append(ServerToken(token_id, piece, check_logprob(logprob, "logprob"), alternatives))
    return out
