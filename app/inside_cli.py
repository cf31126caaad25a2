"""`llm-playground lens` and `llm-playground attention`: inside the model, headless.

lens: for one position of a prompt, what each layer's output would predict if it were
the last (the logit lens), and the probability of the token the model chose, layer by
layer. attention: every head's attention weights over a prompt of up to 256 tokens.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np

from app.core.errors import SettingsError
from app.core.units import format_percent, printable


def add_parsers(sub: Any) -> None:
    lens = sub.add_parser(
        "lens", help="what each layer would predict at one position (the logit lens)"
    )
    lens.add_argument("--model", default="default", help="a GGUF path or 'default'")
    lens.add_argument("--prompt", required=True)
    lens.add_argument(
        "--position",
        type=int,
        default=None,
        help="the token (0-based, BOS included) whose next token is looked at; default: last",
    )
    lens.add_argument("--json", action="store_true")
    attention = sub.add_parser(
        "attention", help="every attention head's weights over a prompt (up to 256 tokens)"
    )
    attention.add_argument("--model", default="default", help="a GGUF path or 'default'")
    attention.add_argument("--prompt", required=True)
    attention.add_argument("--json", action="store_true")


@contextlib.contextmanager
def _inspecting(model: str) -> Iterator[Any]:
    """A loaded model and its inspector, both freed after the block."""
    from app.core.inside.model_inspector import ModelInspector
    from app.core.llama.engine import Engine

    with Engine(model) as engine:
        inspector = ModelInspector(engine)
        try:
            yield inspector
        finally:
            inspector.close()


def _print_json(document: dict[str, Any]) -> int:
    json.dump(document, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    return 0


def cmd_lens(args: argparse.Namespace) -> int:
    from app.core.inside.logit_lens import CAVEAT, logit_lens

    with _inspecting(args.model) as inspector:
        ids = inspector.engine.tokenize_prompt(args.prompt)
        if args.position is not None and not 0 <= args.position < len(ids):
            raise SettingsError(
                f"--position must be 0 to {len(ids) - 1} (the prompt has {len(ids)} "
                f"tokens, BOS included), got {args.position}"
            )
        lens = logit_lens(inspector, ids, args.position)
    if args.json:
        return _print_json(lens.to_json())
    before = "".join(piece for _id, piece in lens.tokens)
    out = sys.stdout
    out.write(f"{CAVEAT}\n")
    out.write(f"after “{printable(before)}” the model chose “{printable(lens.chosen.piece)}” ")
    out.write(f"(p = {format_percent(lens.chosen.p)})\n")
    for entry in lens.layers:
        top = " · ".join(f"{printable(t.piece)} {format_percent(t.p)}" for t in entry.top)
        out.write(f"layer {entry.layer:>3}  p(chosen) {format_percent(entry.p_chosen):>7}  {top}\n")
    first = lens.first_layer_with_answer()
    if first is not None:
        out.write(f"the chosen token is the top prediction from layer {first} on\n")
    return 0


def cmd_attention(args: argparse.Namespace) -> int:
    from app.core.inside.attention_maps import attention_maps

    with _inspecting(args.model) as inspector:
        maps = attention_maps(inspector, inspector.engine.tokenize_prompt(args.prompt))
    if args.json:
        return _print_json(maps.to_json())
    out = sys.stdout
    pieces = maps.pieces
    out.write(f"where the last token, “{printable(pieces[-1])}”, looks (its three strongest)\n")
    for n, weights in enumerate(maps.layers):
        window = f", window {maps.windows[n]}" if maps.windows[n] else ""
        for head in range(maps.n_head):
            row = weights[head, -1]
            best = np.argsort(row)[::-1][:3]
            text = " · ".join(f"{printable(pieces[i])} {row[i]:.2f}" for i in best)
            kv = maps.kv_head_of[head] + 1
            out.write(f"layer {n + 1:>3} head {head + 1} (kv {kv}{window})  {text}\n")
    return 0
