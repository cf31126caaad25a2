"""The CLI's `--server URL` for tokenize and info: the same answers from a llama-server
(`llm-playground serve`, or any llama.cpp server) instead of a local GGUF.

The key comes from --api-key or, kept out of the shell's history and of `ps`, from
LLM_PLAYGROUND_API_KEY. A server that cannot be reached, refuses the key or answers
nonsense raises ServerError: one line and exit 1 (cli.run), a failure of the network,
not of the input.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.errors import PromptError, SettingsError
from app.core.tokenizer.tokens import piece_end

if TYPE_CHECKING:
    from app.core.backends.server_client import ServerClient

KEY_VARIABLE = "LLM_PLAYGROUND_API_KEY"


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help="a llama-server's address instead of --model")
    parser.add_argument("--api-key", help=f"the server's key (or ${KEY_VARIABLE})")


def client(args: argparse.Namespace) -> ServerClient:
    # Imported here: http.client and ssl cost every other subcommand ~20 ms at start.
    from app.core.backends.server_client import ServerClient

    return ServerClient(args.server, args.api_key or os.environ.get(KEY_VARIABLE) or None)


def token_spans(
    data: bytes, with_special: list[tuple[int, bytes]], plain: list[tuple[int, bytes]]
) -> list[dict[str, Any]]:
    """The tokens of `data` with their byte offsets. The server renders the tokens it adds
    (BOS) as text, so they are told apart by tokenizing without them too: what the plain
    tokenization lacks at the front is not in the text."""
    added = len(with_special) - len(plain)
    if added < 0 or [i for i, _p in with_special[added:]] != [i for i, _p in plain]:
        added = 0  # the tokenizations differ beyond a prefix: offsets from the text alone
    tokens = []
    pos = 0
    for index, (token_id, piece) in enumerate(with_special):
        start = pos
        if index >= added:
            pos = piece_end(data, pos, piece)
        tokens.append(
            {
                "id": token_id,
                "piece": piece.decode("utf-8", "replace"),
                "bytes": piece.hex(),
                "start": start,
                "end": pos,
            }
        )
    return tokens


def tokenize(args: argparse.Namespace, data: bytes) -> tuple[list[dict[str, Any]], str]:
    """(tokens, the server's address) for `tokenize --server`."""
    server = client(args)
    text = data.decode("utf-8")
    plain = server.tokenize(text, add_special=False)
    tokens = plain if args.no_bos else server.tokenize(text, add_special=True)
    return token_spans(data, tokens, plain), server.url


def print_tokens(
    args: argparse.Namespace,
    data: bytes,
    print_json: Callable[[Any], None],
    shown: Callable[[bytes], str],
) -> int:
    """`tokenize --server`: as the local command prints, with the server's address."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PromptError(
            f"the text is not UTF-8 (byte {exc.start}): a server takes text"
        ) from None
    tokens, url = tokenize(args, data)
    if args.json:
        print_json({"tokens": tokens, "count": len(tokens), "server": url})
    else:
        sys.stdout.write(" | ".join(shown(bytes.fromhex(t["bytes"])) for t in tokens) + "\n")
        sys.stdout.write(f"[{len(tokens)} tokens, {url}]\n")
    return 0


STOP_REASONS = {"eos": "eog", "limit": "max_tokens", "word": "stop_string"}
APPROXIMATE = (
    "the server sent each token's log-probability and its top {n} alternatives; the rest of "
    "the distribution (its entropy, the other tokens) is not known"
)


def print_generation(
    args: argparse.Namespace,
    settings: DecodingSettings,
    print_json: Callable[[Any], None],
    shown: Callable[[bytes], str],
) -> int:
    """`generate --server`: the server decodes (greedy, or sampling with the chosen settings
    and seed); each step lists what the server knows, labelled as such."""
    if settings.mode == "beam":
        raise SettingsError("beam search through a server is not available yet: use --model")
    server = client(args)
    n_probs = max(args.top, 1)
    prompt = [i for i, _p in server.tokenize(args.prompt, add_special=not args.no_bos)]
    sampled = settings.mode == "sample"
    answer = server.complete(
        prompt,
        n_predict=settings.max_tokens,
        n_probs=n_probs,
        temperature=settings.temperature if sampled else 0.0,
        top_k=settings.top_k if sampled else 0,
        top_p=settings.top_p if sampled else 1.0,
        min_p=settings.min_p if sampled else 0.0,
        seed=settings.seed if sampled else None,
        stop=settings.stop,
    )
    model = os.path.basename(server.props().model_path)
    steps = []
    for number, token in enumerate(answer.tokens, start=1):
        ranks = [a.id for a in token.top]
        steps.append(
            {
                "step": number,
                "id": token.id,
                "piece": shown(token.piece),
                "p": math.exp(token.logprob),
                "logprob": token.logprob,
                "rank": ranks.index(token.id) + 1 if token.id in ranks else None,
                "top": [
                    {"id": a.id, "piece": shown(a.piece), "p": math.exp(a.logprob)}
                    for a in token.top[: args.top]
                ],
            }
        )
    reason = STOP_REASONS.get(answer.stop_type, answer.stop_type)
    speed = answer.timings.get("predicted_per_second", 0.0)
    if args.json:
        print_json(
            {
                "prompt_tokens": prompt,
                "steps": steps,
                "text": answer.content,
                "stop_reason": reason,
                "stats": {"tokens_per_second": round(speed, 3)},
                "model": model,
                "server": server.url,
                "approximate": APPROXIMATE.format(n=n_probs),
            }
        )
    else:
        sys.stdout.write(args.prompt + answer.content + "\n")
        sys.stdout.write(
            f"[{len(steps)} tokens, {reason}, {speed:.1f} tokens/s, llama-server at {server.url}]\n"
        )
    return 0


def info(args: argparse.Namespace) -> dict[str, Any]:
    server = client(args)
    props = server.props()
    return {
        "server": server.url,
        "model": os.path.basename(props.model_path),
        "slots": props.total_slots,
        "context_per_slot": props.n_ctx,
        "chat_template": bool(props.chat_template),
        "build": props.build_info,
    }
