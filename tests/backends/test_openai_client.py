"""The OpenAI-compatible client against a real llama-server's /v1/completions (the protocol
vLLM speaks), and the legacy logprobs columns vLLM and OpenAI answer with."""

from __future__ import annotations

import pytest
from servers import KEY, PROMPT

from app.core.backends.openai_client import MAX_LOGPROBS, OpenAIClient, legacy_tokens
from app.core.backends.server_answers import ServerError
from app.core.backends.server_client import ServerClient
from app.core.backends.server_process import ServerProcess
from app.core.llama.engine import Engine


def test_v1_completions_give_the_native_endpoint_s_tokens(
    server: ServerProcess,
    engine: Engine,
) -> None:
    prompt = engine.tokenize_prompt(PROMPT)
    client = OpenAIClient(server.url, KEY)
    model = client.models()[0]
    assert model.endswith(".gguf")
    v1 = client.complete_v1(model, prompt, max_tokens=12, logprobs=5)
    native = ServerClient(server.url, KEY).complete(prompt, n_predict=12, n_probs=5)
    assert [t.id for t in v1.tokens] == [t.id for t in native.tokens]
    for mine, theirs in zip(v1.tokens, native.tokens, strict=True):
        assert mine.piece == theirs.piece
        assert [a.id for a in mine.top] == [a.id for a in theirs.top]
        assert mine.logprob == pytest.approx(theirs.logprob, abs=1e-5)
    assert v1.stop_type == "length"


def test_the_client_asks_for_twenty_alternatives_at_most(
    server: ServerProcess,
    engine: Engine,
) -> None:
    client = OpenAIClient(server.url, KEY)
    answer = client.complete_v1(
        client.models()[0], engine.tokenize_prompt(PROMPT), max_tokens=3, logprobs=50
    )
    assert [len(t.top) for t in answer.tokens] == [MAX_LOGPROBS] * 3


def test_the_legacy_columns_become_tokens_with_ids() -> None:
    columns = {
        "tokens": ["token_id:506", "token_id:5279"],
        "token_logprobs": [-1.65, -0.68],
        "top_logprobs": [
            {"token_id:496": -2.07, "token_id:506": -1.65},
            {"token_id:5279": -0.68, "token_id:1346": -2.64},
        ],
        "text_offset": [0, 4],
    }
    tokens = legacy_tokens(columns, asked=2, max_tokens=2)
    assert [t.id for t in tokens] == [506, 5279]
    assert [[a.id for a in t.top] for t in tokens] == [[506, 496], [5279, 1346]]  # best first
    named = legacy_tokens(
        {"tokens": [" the"], "token_logprobs": [-1.0], "top_logprobs": [{" the": -1.0}]},
        asked=1,
        max_tokens=1,
    )
    assert named[0].id == -1 and named[0].piece == b" the"  # a server that names texts only


@pytest.mark.parametrize(
    "columns",
    [
        {"tokens": ["token_id:1"], "token_logprobs": [], "top_logprobs": []},
        {"tokens": ["token_id:1"], "token_logprobs": [float("nan")], "top_logprobs": [{}]},
        {"tokens": ["token_id:-4"], "token_logprobs": [-1.0], "top_logprobs": [{}]},
        {"tokens": ["token_id:1"], "token_logprobs": [0.5], "top_logprobs": [{}]},
        {"tokens": ["a"], "token_logprobs": [-1.0], "top_logprobs": [{"a": -1.0, "b": -2.0}]},
        {"tokens": ["token_id:x1"], "token_logprobs": [-1.0], "top_logprobs": [{}]},
    ],
)
def test_broken_legacy_columns_are_refused(columns: dict[str, object]) -> None:
    with pytest.raises(ServerError):
        legacy_tokens(columns, asked=1, max_tokens=4)
