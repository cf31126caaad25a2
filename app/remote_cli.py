"""The CLI's `--server URL` for tokenize and info: the same answers from a llama-server
(`llm-playground serve`, or any llama.cpp server) instead of a local GGUF.

The key comes from --api-key or, kept out of the shell's history and of `ps`, from
LLM_PLAYGROUND_API_KEY. A server that cannot be reached, refuses the key or answers
nonsense raises ServerError: one line and exit 1 (cli.run), a failure of the network,
not of the input.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import GenerationStats, TokenStep
from app.core.decoding.top_n_distribution import TopNDistribution
from app.core.errors import PromptError

if TYPE_CHECKING:
    from app.core.backends.server_client import ServerClient

KEY_VARIABLE = "LLM_PLAYGROUND_API_KEY"


def add_server_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--server", help="a llama-server's address instead of --model")
    parser.add_argument("--api-key", help=f"the server's key (or ${KEY_VARIABLE})")


def api_key(args: argparse.Namespace) -> str | None:
    return str(args.api_key or os.environ.get(KEY_VARIABLE) or "") or None


def client(args: argparse.Namespace) -> ServerClient:
    # Imported here: http.client and ssl cost every other subcommand ~20 ms at start.
    from app.core.backends.server_client import ServerClient

    return ServerClient(args.server, api_key(args))


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
    from app.core.backends.server_tokenizer import ServerTokenizer

    tokenizer = ServerTokenizer(args.server, api_key(args))
    infos = tokenizer.infos_of(data, tokenizer.tokenize(data, add_bos=not args.no_bos))
    url = tokenizer.client.url
    if args.json:
        tokens = [t.to_json() for t in infos]
        print_json({"tokens": tokens, "count": len(tokens), "server": url})
    else:
        # A token the server adds (BOS) is shown as the server writes it.
        pieces = [t.piece or t.vocab_text.encode("utf-8") for t in infos]
        sys.stdout.write(" | ".join(shown(piece) for piece in pieces) + "\n")
        sys.stdout.write(f"[{len(infos)} tokens, {url}]\n")
    return 0


APPROXIMATE = (
    "the server sent each token's log-probability and its top {n} alternatives; the rest of "
    "the distribution (its entropy, the other tokens) is not known"
)


def _step_json(
    step: TokenStep, top: int, piece_of: Callable[[int], bytes], shown: Callable[[bytes], str]
) -> dict[str, Any]:
    dist = step.distribution
    beyond = isinstance(dist, TopNDistribution) and dist.rank_unknown(step.logit)
    return {
        "step": step.number,
        "id": step.id,
        "piece": shown(step.piece),
        "p": step.p_model,
        "logprob": step.logprob_model,
        "rank": None if beyond else step.rank + 1,  # None: below the top N the server sent
        "top": [{"id": t.id, "piece": shown(piece_of(t.id)), "p": t.p} for t in step.top(top, 1.0)],
    }


def print_generation(
    args: argparse.Namespace,
    settings: DecodingSettings,
    print_json: Callable[[Any], None],
    shown: Callable[[bytes], str],
) -> int:
    """`generate --server`: the server decodes (greedy, sampling with the chosen settings
    and seed, or beam search driven from here); each step lists what the server knows,
    labelled as such."""
    from app.core.backends.remote_beam import remote_beam_search
    from app.core.backends.remote_engine import RemoteEngine

    engine = RemoteEngine(args.server, api_key(args), top_n=max(args.top, 1))
    prompt = engine.tokenize_prompt(args.prompt, add_bos=not args.no_bos)
    document: dict[str, Any] = {"prompt_tokens": prompt}
    stats = GenerationStats()
    if settings.mode == "beam":
        result = remote_beam_search(engine, prompt, settings, stats=stats)
        steps, text, reason = result.best.steps, result.best.text, result.stop_reason
        document["beams"] = [
            {"ids": h.ids, "text": h.text, "score": h.score, "logprob": h.logprob}
            for h in result.hypotheses
        ]
        speed = stats.tokens_per_second
    else:
        steps = []
        run = engine.generate(prompt, settings, on_step=steps.append)
        text = engine.vocab.detokenize([s.id for s in steps if not s.ends_generation]).decode(
            "utf-8", "replace"
        )
        reason, speed = run.stop_reason, run.stats.tokens_per_second
    if args.json:
        document.update(
            {
                "steps": [_step_json(s, args.top, engine.vocab.piece, shown) for s in steps],
                "text": text,
                "stop_reason": reason,
                "stats": {"tokens_per_second": round(speed, 3)},
                "model": engine.info.model,
                "server": engine.info.url,
                "approximate": APPROXIMATE.format(n=engine.top_n),
            }
        )
        print_json(document)
    else:
        sys.stdout.write(args.prompt + text + "\n")
        sys.stdout.write(
            f"[{len(steps)} tokens, {reason}, {speed:.1f} tokens/s, "
            f"llama-server at {engine.info.address}]\n"
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
