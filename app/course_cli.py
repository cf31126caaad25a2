"""`llm-playground score`: how surprising a text is to a model, token by token (what
pre-training optimises: the log-probability of each next token of real text).
`llm-playground reward`: a chosen and a rejected answer under a base and an instruct
model, as DPO's implicit reward sees them (what post-training changed)."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from app.core.errors import PromptError
from app.core.units import printable


def add_parsers(sub: Any) -> None:
    score = sub.add_parser(
        "score", help="each token's log p and rank under a model, perplexity, bits per byte"
    )
    score.add_argument("--model", default="default", help="a GGUF path or 'default'")
    source = score.add_mutually_exclusive_group(required=True)
    source.add_argument("--text")
    source.add_argument("--file", type=Path, help="a UTF-8 text file")
    score.add_argument("--json", action="store_true")
    reward = sub.add_parser(
        "reward", help="chosen vs rejected answer: DPO's implicit reward, base vs instruct"
    )
    reward.add_argument("--base", required=True, help="the base model (the reference)")
    reward.add_argument("--instruct", required=True, help="its instruct model (the policy)")
    reward.add_argument("--prompt", required=True)
    reward.add_argument("--chosen", required=True)
    reward.add_argument("--rejected", required=True)
    reward.add_argument("--beta", type=float, default=0.1, help="DPO's β (default 0.1)")
    reward.add_argument("--json", action="store_true")


def text_argument(args: argparse.Namespace) -> str:
    """The text of --text, or of the UTF-8 file --file names."""
    if args.text is not None:
        return str(args.text)
    try:
        return Path(args.file).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise PromptError(f"{args.file} is not UTF-8 text (byte {exc.start + 1})") from None
    except OSError as exc:
        raise PromptError(f"{args.file}: cannot read: {exc.strerror or exc}") from None


def cmd_score(args: argparse.Namespace) -> int:
    from app.core.decoding.text_score import score_text
    from app.core.llama.engine import Engine

    text = text_argument(args)
    with Engine(args.model) as engine:
        result = score_text(engine, text)
    if args.json:
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    for token in result.tokens:
        top = " · ".join(f"{printable(p)} {q:.1%}" for _i, p, q in token.top[:3])
        out.write(
            f"{printable(token.piece):<20} log p {token.logprob:8.3f}  "
            f"rank {token.rank:>6}  ({top})\n"
        )
    out.write(
        f"{len(result.tokens)} tokens · perplexity {result.perplexity:.2f} · "
        f"{result.bits_per_byte:.3f} bits per byte · chunks of {result.chunk}\n"
    )
    return 0


def cmd_reward(args: argparse.Namespace) -> int:
    from app.core.decoding.preference import compare_answers
    from app.core.llama.engine import Engine

    result = compare_answers(
        Engine, args.base, args.instruct, args.prompt, (args.chosen, args.rejected), args.beta
    )
    if args.json:
        json.dump(result.to_json(), sys.stdout, ensure_ascii=False)
        sys.stdout.write("\n")
        return 0
    out = sys.stdout
    for name, answer in (("chosen", result.chosen), ("rejected", result.rejected)):
        n = max(1, len(answer.ids))
        out.write(
            f"{name:<8} log p base {answer.sum_base:9.3f} ({answer.sum_base / n:.3f}/token)  "
            f"instruct {answer.sum_instruct:9.3f} ({answer.sum_instruct / n:.3f}/token)  "
            f"reward {answer.reward(result.beta):+.4f}\n"
        )
    out.write(
        f"margin {result.margin:+.4f} · σ(margin) = {result.p_chosen:.3f} that the chosen "
        f"answer is preferred (β = {result.beta:g}; the instruct model stands in for the "
        "policy, the base model for the reference)\n"
    )
    return 0
