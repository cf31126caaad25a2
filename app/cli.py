"""Headless subcommands: the scripting interface to the same engine the window uses.

Exit codes: 0 success; 2 bad input or usage (a value out of range, text that is not
UTF-8, a model file that cannot be read); 1 a failure of the machine or the network (a
full disk, a Hub, server or RPC worker that is gone or answers nonsense); 130 interrupted
(Ctrl+C). An error is one line on stderr, never a traceback; with --json that line is a
JSON object, {"error": message, "exit_code": code}. The log file keeps the details.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from app import course_cli, inside_cli, remote_cli, rpc_cli, serve_cli
from app.core.backends.server_answers import ServerError
from app.core.errors import PlaygroundError, PromptError, SettingsError
from app.core.llama.rpc_workers import WorkerError

log = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_FAILURE = 1
MAX_TOP = 1000  # alternatives listed per step
MAX_INT32 = 2**31 - 1
# Arguments that are text for the model: on POSIX a byte that is not UTF-8 arrives as a
# lone surrogate (PEP 383) that no encoder accepts. Paths keep their bytes as they are.
TEXT_ARGUMENTS = ("prompt", "text", "stop", "chosen", "rejected")


_json_errors = False  # --json was given: errors are JSON objects too


def _error_line(message: str, code: int) -> str:
    if _json_errors:
        return json.dumps({"error": message, "exit_code": code}, ensure_ascii=False) + "\n"
    return f"llm-playground: error: {message}\n"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(EXIT_BAD_INPUT, _error_line(message, EXIT_BAD_INPUT))


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="llm-playground", description=__doc__)
    sub = parser.add_subparsers(
        dest="command",
        required=True,
        parser_class=_Parser,
        metavar="{generate,tokenize,bpe,info,models,serve,rpc-worker}",
    )

    gen = sub.add_parser("generate", help="continue a prompt and show each token's distribution")
    gen.add_argument("--model", help="a GGUF path or 'default'")
    remote_cli.add_server_arguments(gen)
    gen.add_argument("--prompt", required=True)
    gen.add_argument("--mode", choices=("greedy", "sample", "beam"), default="greedy")
    gen.add_argument("--max-tokens", type=int, default=64)
    gen.add_argument("--temperature", type=float, default=0.8)
    gen.add_argument("--top-k", type=int, default=40)
    gen.add_argument("--top-p", type=float, default=0.95)
    gen.add_argument("--min-p", type=float, default=0.05)
    gen.add_argument("--seed", type=int, default=0)
    gen.add_argument("--beam-width", type=int, default=4)
    gen.add_argument("--length-penalty", type=float, default=None)
    gen.add_argument("--stop", action="append", default=[], help="stop string (repeatable)")
    gen.add_argument("--top", type=int, default=5, help="alternatives listed per step")
    gen.add_argument("--no-bos", action="store_true", help="do not add the BOS token")
    gen.add_argument("--ctx", type=int, default=4096, help="context size in tokens")
    rpc_cli.add_rpc_arguments(gen)
    gen.add_argument("--json", action="store_true")

    tok = sub.add_parser("tokenize", help="split text into tokens with byte offsets")
    tok.add_argument("--model")
    remote_cli.add_server_arguments(tok)
    src = tok.add_mutually_exclusive_group(required=True)
    src.add_argument("--text")
    src.add_argument("--file", type=Path)
    tok.add_argument("--no-bos", action="store_true")
    tok.add_argument("--json", action="store_true")

    bpe = sub.add_parser(
        "bpe",
        help="replay, step by step, how the model's tokenizer builds the tokens (its "
        "pre-tokenizer's split, then merges, WordPiece's longest matches or Unigram's best cut)",
    )
    bpe.add_argument("--model", required=True, help="a GGUF (vocabulary-only is enough)")
    bpe_source = bpe.add_mutually_exclusive_group(required=True)
    bpe_source.add_argument("--text")
    bpe_source.add_argument("--file", type=Path, help="a UTF-8 text file")
    bpe.add_argument("--json", action="store_true")

    info = sub.add_parser("info", help="a GGUF model's card, or a server's model and slots")
    info.add_argument("--model")
    remote_cli.add_server_arguments(info)
    rpc_cli.add_rpc_arguments(info)
    info.add_argument("--json", action="store_true")

    serve_cli.add_parser(sub)
    rpc_cli.add_parser(sub)
    inside_cli.add_parsers(sub)
    course_cli.add_parsers(sub)

    probe = sub.add_parser("_probe", help=argparse.SUPPRESS)
    probe.add_argument("path", type=Path)

    models = sub.add_parser("models", help="search the Hub, download models, list the library")
    models_sub = models.add_subparsers(dest="models_command", required=True, parser_class=_Parser)
    search = models_sub.add_parser("search", help="GGUF repositories on the Hub")
    search.add_argument("text", nargs="?", default="")
    search.add_argument("--sort", choices=("downloads", "likes", "updated"), default="downloads")
    search.add_argument("--limit", type=int, default=20)
    search.add_argument("--json", action="store_true")
    files = models_sub.add_parser("files", help="a repository's GGUF files by quantization")
    files.add_argument("repo")
    files.add_argument("--revision", default=None)
    files.add_argument("--json", action="store_true")
    download = models_sub.add_parser(
        "download", help="download (or resume) a model into the library, sha256-verified"
    )
    download.add_argument("repo")
    which = download.add_mutually_exclusive_group()
    which.add_argument("--file", help="a file in the repository (default: the recommended one)")
    which.add_argument("--quant", help="a quantization, such as Q4_K_M or Q8_0")
    download.add_argument("--revision", default=None)
    download.add_argument(
        "--hf-cache",
        action="store_true",
        help="keep it in the Hugging Face cache (HF_HUB_CACHE), where other tools see it",
    )
    download.add_argument("--json", action="store_true")
    listing = models_sub.add_parser("list", help="the models on this machine")
    listing.add_argument("--json", action="store_true")
    return parser


def _print_json(document: dict[str, Any]) -> None:
    json.dump(document, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")


def _piece(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def _step_json(step: Any, top: int, vocab: Any, temperature: float) -> dict[str, Any]:
    """One step; p, logprob, entropy and the alternatives' p are the model's own (T = 1),
    `p_at_temperature` the chosen token's p at the sampling temperature."""
    sampling_t = None if step.sample is None else temperature
    return {
        "step": step.number,
        "id": step.id,
        "piece": _piece(step.piece),
        "p": step.p_model,
        "logprob": step.logprob_model,
        "rank": step.rank + 1,
        "entropy": step.distribution.entropy(1.0),
        **({"p_at_temperature": step.p_at(sampling_t)} if sampling_t is not None else {}),
        "top": [
            {"id": t.id, "piece": _piece(vocab.piece(t.id)), "logit": t.logit, "p": t.p}
            for t in step.top(top, 1.0)
        ],
        **(
            {
                "sample": {
                    "uniform": step.sample.uniform,
                    "survivors": [
                        {"id": int(i), "p": float(p)}
                        for i, p in zip(
                            step.sample.survivor_ids, step.sample.survivor_probs, strict=True
                        )
                    ],
                }
            }
            if step.sample is not None
            else {}
        ),
    }


def cmd_generate(args: argparse.Namespace) -> int:
    from app.core.decoding.beam_search import beam_search
    from app.core.decoding.decoding_settings import DecodingSettings
    from app.core.decoding.generation import generate
    from app.core.decoding.step_records import GenerationStats
    from app.core.llama.engine import Engine
    from app.core.llama.engine_config import EngineConfig

    _one_source(args)
    if not args.prompt:
        raise PromptError("the prompt is empty")
    if not 0 <= args.top <= MAX_TOP:
        raise SettingsError(f"--top must be 0 to {MAX_TOP}, got {args.top}")
    if not 16 <= args.ctx <= MAX_INT32:
        raise SettingsError(f"--ctx must be 16 to {MAX_INT32:,} tokens, got {args.ctx}")
    settings = DecodingSettings(
        mode=args.mode,
        temperature=args.temperature,
        top_k=args.top_k,
        top_p=args.top_p,
        min_p=args.min_p,
        seed=args.seed,
        beam_width=args.beam_width,
        length_penalty=args.length_penalty,
        max_tokens=args.max_tokens,
        stop=tuple(args.stop),
    ).validated()
    if args.server is not None:
        return remote_cli.print_generation(args, settings, _print_json, _piece)
    config = EngineConfig(
        n_ctx=args.ctx, repack=not args.no_repack, rpc_workers=rpc_cli.endpoints(args)
    )
    with Engine(args.model, config) as engine:
        prompt_ids = engine.tokenize_prompt(args.prompt, add_bos=not args.no_bos)
        stats = GenerationStats()
        document: dict[str, Any] = {"prompt_tokens": prompt_ids}
        if settings.mode == "beam":
            result = beam_search(engine, prompt_ids, settings, stats=stats)
            best = result.best
            steps, text = best.steps, best.text
            stop_reason: str | None = result.stop_reason
            document["beams"] = [
                {"ids": h.ids, "text": h.text, "score": h.score, "logprob": h.logprob}
                for h in result.hypotheses
            ]
        else:
            stream = generate(engine, prompt_ids, settings, stats=stats)
            steps, text, stop_reason = stream.steps, stream.text, stream.stop_reason
        document.update(
            {
                "steps": [
                    _step_json(s, args.top, engine.vocab, settings.temperature) for s in steps
                ],
                "text": text,
                "stop_reason": stop_reason,
                "stats": stats.to_json(),
                "model": engine.info.card.name,
                "device": engine.info.describe_device(),
                "backend": {
                    "device": engine.info.describe_device(),
                    "weight_repacking": engine.info.repack,
                    "rpc": engine.split.to_json() if engine.split else None,
                },
            }
        )
    if args.json:
        _print_json(document)
    else:
        sys.stdout.write(args.prompt + text + "\n")
        sys.stdout.write(
            f"[{len(steps)} tokens, {stop_reason}, "
            f"{stats.tokens_per_second:.1f} tokens/s, {document['device']}]\n"
        )
    return 0


def _one_source(args: argparse.Namespace) -> None:
    if (args.model is None) == (args.server is None):
        raise SettingsError("give --model (a GGUF file or 'default') or --server (an address)")


def cmd_tokenize(args: argparse.Namespace) -> int:
    from app.core.library.default_model import resolve_model
    from app.core.llama.vocabulary import load_vocabulary

    _one_source(args)
    if args.file is not None:
        try:
            data = args.file.read_bytes()
        except OSError as exc:
            raise PlaygroundError(f"{args.file}: cannot read: {exc.strerror or exc}") from None
    else:
        data = args.text.encode("utf-8")
    if args.server is not None:
        return remote_cli.print_tokens(args, data, _print_json, _piece)
    with load_vocabulary(resolve_model(args.model)) as vocab:
        infos = vocab.token_infos(data, add_bos=not args.no_bos)
    if args.json:
        _print_json({"tokens": [t.to_json() for t in infos], "count": len(infos)})
    else:
        sys.stdout.write(" | ".join(_piece(t.piece) for t in infos) + "\n")
        sys.stdout.write(f"[{len(infos)} tokens]\n")
    return 0


def cmd_info(args: argparse.Namespace) -> int:
    from app.core.gguf.model_card import read_model_card
    from app.core.library.default_model import resolve_model

    _one_source(args)
    if args.server is not None:
        facts = remote_cli.info(args)
    else:
        card = read_model_card(resolve_model(args.model), require_tensors=False)
        facts = card.to_json()
        if args.rpc:
            facts["rpc"] = rpc_cli.rpc_facts(rpc_cli.endpoints(args), card.layers or 0)
    if args.json:
        _print_json(facts)
    else:
        for key, value in facts.items():
            sys.stdout.write(f"{key:>18}: {value}\n")
    return 0


def cmd_bpe(args: argparse.Namespace) -> int:
    from app.core.library.default_model import resolve_model
    from app.core.llama.vocabulary import replay_model
    from app.core.tokenizer.bpe_replay import replay
    from app.replay_cli import replay_document, replay_text

    text = course_cli.text_argument(args)
    model = replay_model(resolve_model(args.model))
    result = replay(model, text)
    if args.json:
        _print_json(replay_document(result))
    else:
        sys.stdout.write(replay_text(result))
    return 0


def cmd_models(args: argparse.Namespace) -> int:
    from app import models_cli

    command = {
        "search": models_cli.search,
        "files": models_cli.files,
        "download": models_cli.download,
        "list": models_cli.listing,
    }[args.models_command]
    document = command(args)
    if args.json:
        _print_json(document)
    return 0


def cmd_probe(args: argparse.Namespace) -> int:
    from app.core.llama.load_probe_child import probe_child

    return probe_child(args.path)


COMMANDS = {
    "_probe": cmd_probe,
    "generate": cmd_generate,
    "tokenize": cmd_tokenize,
    "bpe": cmd_bpe,
    "info": cmd_info,
    "models": cmd_models,
    "serve": serve_cli.cmd_serve,
    "rpc-worker": rpc_cli.cmd_rpc_worker,
    "lens": inside_cli.cmd_lens,
    "attention": inside_cli.cmd_attention,
    "score": course_cli.cmd_score,
    "reward": course_cli.cmd_reward,
}


def _check_text(args: argparse.Namespace) -> None:
    """Refuse model text that is not UTF-8, naming the argument and the first bad byte."""
    for name in TEXT_ARGUMENTS:
        value = getattr(args, name, None)
        for text in value if isinstance(value, list) else [value]:
            if not isinstance(text, str):
                continue
            try:
                text.encode("utf-8")
            except UnicodeEncodeError as exc:
                raw = text.encode("utf-8", "surrogateescape")
                byte = raw[len(text[: exc.start].encode("utf-8", "surrogateescape"))]
                raise PromptError(
                    f"--{name} is not valid UTF-8 text (byte 0x{byte:02x} at character "
                    f"{exc.start + 1}); pass the text in UTF-8, or put it in a file"
                ) from None


def _fail(message: str, code: int) -> int:
    if sys.stderr is not None:
        sys.stderr.write(_error_line(message, code))
    return code


def run(argv: Sequence[str]) -> int:
    """Run one subcommand. Exit codes: 0 done, 2 bad input (one line on stderr), 1 a
    failure of the machine or the network (one line; details in the log), 130 Ctrl+C."""
    global _json_errors
    _json_errors = "--json" in argv
    if sys.stdout is None:  # started with its output closed (`>&-`)
        return _fail("standard output is closed; nothing can be printed", EXIT_FAILURE)
    if isinstance(sys.stdout, io.TextIOWrapper):
        # A path given as undecodable bytes is printed as \udcXX (valid in JSON, too).
        sys.stdout.reconfigure(errors="backslashreplace")
    args = build_parser().parse_args(list(argv))
    try:
        _check_text(args)
        return COMMANDS[args.command](args)
    except (ServerError, WorkerError) as exc:  # a server or worker gone, refusing, garbled
        return _fail(str(exc), EXIT_FAILURE)
    except PlaygroundError as exc:
        return _fail(str(exc), EXIT_BAD_INPUT)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (`| head`): stop quietly, as other command-line tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    except OSError as exc:  # a full disk, an unwritable output, a vanished file
        log.warning("%s failed: %s", args.command, exc, exc_info=True)
        where = f" ({exc.filename})" if exc.filename else ""
        return _fail(f"{exc.strerror or exc}{where}", EXIT_FAILURE)
    except Exception as exc:  # never a traceback on the terminal; the log keeps it
        log.exception("%s failed", args.command)
        return _fail(
            f"{args.command} failed unexpectedly ({type(exc).__name__}: {exc}); the details "
            "are in the log file",
            EXIT_FAILURE,
        )
