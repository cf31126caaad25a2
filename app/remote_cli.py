"""The CLI's `--server URL` for tokenize and info: the same answers from a llama-server
(`llm-playground serve`, or any llama.cpp server) instead of a local GGUF.

The key comes from --api-key or, kept out of the shell's history and of `ps`, from
LLM_PLAYGROUND_API_KEY. A server that cannot be reached, refuses the key or answers
nonsense is one line and exit 1 (a failure of the network, not of the input).
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import Any

from app.core.backends.server_answers import ServerError
from app.core.backends.server_client import ServerClient
from app.core.errors import PromptError
from app.core.tokenizer.tokens import piece_end

KEY_VARIABLE = "LLM_PLAYGROUND_API_KEY"
EXIT_FAILURE = 1


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help="a llama-server's address instead of --model")
    parser.add_argument("--api-key", help=f"the server's key (or ${KEY_VARIABLE})")


def client(args: argparse.Namespace) -> ServerClient:
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
    try:
        plain = server.tokenize(text, add_special=False)
        tokens = plain if args.no_bos else server.tokenize(text, add_special=True)
    except ServerError as exc:
        raise RemoteFailure(str(exc)) from None
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
    try:
        tokens, url = tokenize(args, data)
    except RemoteFailure as exc:
        return fail(exc)
    if args.json:
        print_json({"tokens": tokens, "count": len(tokens), "server": url})
    else:
        sys.stdout.write(" | ".join(shown(bytes.fromhex(t["bytes"])) for t in tokens) + "\n")
        sys.stdout.write(f"[{len(tokens)} tokens, {url}]\n")
    return 0


def info(args: argparse.Namespace) -> dict[str, Any]:
    server = client(args)
    try:
        props = server.props()
    except ServerError as exc:
        raise RemoteFailure(str(exc)) from None
    return {
        "server": server.url,
        "model": os.path.basename(props.model_path),
        "slots": props.total_slots,
        "context_per_slot": props.n_ctx,
        "chat_template": bool(props.chat_template),
        "build": props.build_info,
    }


class RemoteFailure(Exception):
    """The server failed us: exit 1 with its one-line message."""


def fail(exc: RemoteFailure) -> int:
    sys.stderr.write(f"llm-playground: error: {exc}\n")
    return EXIT_FAILURE
