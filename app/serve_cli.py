"""`llm-playground serve`: llama.cpp's llama-server on a model, for a class to share.

It binds to loopback unless --host says otherwise, and refuses another host without
--api-key. The server runs with the settings that keep its numbers the local engine's
(backends/server_process.py). Ctrl+C stops it cleanly (exit 130); a server that ends on its
own is a failure (exit 1), with where its log is.
"""

from __future__ import annotations

import argparse
import sys
from typing import Any

from app.core import paths

DEFAULT_PORT = 8080


def add_parser(sub: Any) -> None:
    serve = sub.add_parser(
        "serve", help="run llama.cpp's llama-server on a model for a class to share"
    )
    serve.add_argument("--model", required=True, help='a GGUF file, or "default"')
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on")
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--parallel", type=int, default=4, help="requests served at once")
    serve.add_argument("--api-key", default=None, help="key the clients must send")
    serve.add_argument("--ctx", type=int, default=4096, help="context per request")
    serve.add_argument("--n-gpu-layers", type=int, default=None)


def cmd_serve(args: argparse.Namespace) -> int:
    from app.core.backends.server_process import (
        ServeError,
        ServeOptions,
        ServerProcess,
        check_options,
        find_server_binary,
        lan_addresses,
    )
    from app.core.library.default_model import resolve_model

    options = ServeOptions(
        model=resolve_model(args.model),
        host=args.host,
        port=args.port,
        parallel=args.parallel,
        api_key=args.api_key,
        n_ctx=args.ctx,
        n_gpu_layers=args.n_gpu_layers,
    )
    check_options(options)  # bad options: exit 2, before anything starts
    try:
        find_server_binary()
    except ServeError as exc:  # this machine lacks the server: a failure, not bad input
        print(f"llm-playground: error: {exc}", file=sys.stderr)
        return 1
    log_path = paths.log_dir() / "llama-server.log"
    print(f"starting llama-server on {options.model.name}…", file=sys.stderr, flush=True)
    with ServerProcess(options, log=log_path) as server:
        try:
            server.wait_ready()
        except ServeError as exc:
            print(f"llm-playground: error: {exc} (its log: {log_path})", file=sys.stderr)
            return 1
        for address in lan_addresses(options.host):
            bracketed = f"[{address}]" if ":" in address else address
            print(f"serving {options.model.name} at http://{bracketed}:{options.port}")
        key_note = " and the key given to --api-key" if options.api_key else ""
        print(
            f"{options.parallel} request(s) at once. Students connect with that address"
            f"{key_note} (--server on the command line). Ctrl+C stops the server.",
            flush=True,
        )
        try:
            code = server.wait()
        except KeyboardInterrupt:
            server.stop()
            print("llama-server stopped", file=sys.stderr)
            return 130
    print(
        f"llm-playground: error: llama-server ended with status {code} (its log: {log_path})",
        file=sys.stderr,
    )
    return 1
