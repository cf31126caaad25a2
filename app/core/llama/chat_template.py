"""A model's chat template (GGUF `tokenizer.chat_template`), rendered safely.

Templates come from downloaded files, so they render in Jinja's immutable sandbox: a
template can format messages but cannot reach Python internals (attributes such as
`__class__`, or mutating methods); trying is refused with a clear message. The variables
and options follow Hugging Face Transformers' chat templates (and llama-cpp-python's
formatter): `messages`, `bos_token`, `eos_token`, `add_generation_prompt`,
`raise_exception`, `strftime_now`, trimmed blocks, the loop controls and the
`{% generation %}` tag.

A hostile template can also try to exhaust time or memory. Rendering runs under a trace
hook that stops it after `RENDER_SECONDS` or once any value it builds exceeds
`MAX_VALUE` characters or items, and `*` / `**` cannot build anything larger either.
"""

from __future__ import annotations

import json
import operator
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import datetime
from types import FrameType
from typing import TYPE_CHECKING, Any

import jinja2
import jinja2.ext
from jinja2.exceptions import SecurityError, TemplateError
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.core.errors import PlaygroundError, PromptError

if TYPE_CHECKING:
    from app.core.llama.vocabulary import Vocabulary

TEMPLATE_KEY = "tokenizer.chat_template"
RENDER_SECONDS = 2.0
MAX_VALUE = 1 << 20  # characters of a string, or items of a list, a template may build


class ChatTemplateError(PlaygroundError):
    """A chat template that is missing, invalid or refused."""


class _GenerationTag(jinja2.ext.Extension):
    """`{% generation %}…{% endgeneration %}` marks assistant text for training: render
    its content as is."""

    tags = {"generation"}  # noqa: RUF012  (jinja2 declares it as an instance attribute)

    def parse(self, parser: Any) -> Any:
        parser.stream.skip(1)
        return parser.parse_statements(("name:endgeneration",), drop_needle=True)


def _tojson(
    value: Any,
    ensure_ascii: bool = False,
    indent: int | None = None,
    separators: tuple[str, str] | None = None,
    sort_keys: bool = False,
) -> str:
    return json.dumps(
        value, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys
    )


class _BoundedSandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, with `*` and `**` unable to build huge values."""

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Any, operator_name: str, left: Any, right: Any) -> Any:
        if operator_name == "**":
            if isinstance(right, int) and abs(right) > 1000:
                raise ChatTemplateError("the chat template computed a huge power; stopped")
            return operator.pow(left, right)
        for seq, count in ((left, right), (right, left)):
            sized = isinstance(seq, str | list | tuple) and isinstance(count, int)
            if sized and len(seq) * count > MAX_VALUE:
                raise ChatTemplateError("the chat template built a huge value; stopped")
        return operator.mul(left, right)


class _Budget:
    """A trace hook that ends a render running too long or building too much."""

    def __init__(self) -> None:
        self.deadline = time.monotonic() + RENDER_SECONDS

    def __call__(self, frame: FrameType, event: str, _arg: Any) -> Any:
        if event == "line":
            if time.monotonic() > self.deadline:
                raise ChatTemplateError(
                    f"the chat template ran for more than {RENDER_SECONDS:.0f} s; stopped"
                )
            for value in frame.f_locals.values():
                if isinstance(value, str | list | dict) and len(value) > MAX_VALUE:
                    raise ChatTemplateError("the chat template built a huge value; stopped")
        return self


def _environment() -> ImmutableSandboxedEnvironment:
    env = _BoundedSandbox(
        loader=jinja2.BaseLoader(),
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=[_GenerationTag, jinja2.ext.loopcontrols],
    )
    env.filters["tojson"] = _tojson
    return env


def _raise(message: str) -> None:
    raise ChatTemplateError(f"the chat template refused the conversation: {message}")


def render_chat(
    template: str,
    messages: Sequence[Mapping[str, str]],
    *,
    bos_token: str,
    eos_token: str,
    add_generation_prompt: bool = True,
) -> str:
    """The prompt text the template makes of `messages` (role / content mappings)."""
    try:
        compiled = _environment().from_string(template)
    except TemplateError as exc:
        raise ChatTemplateError(f"the chat template is not valid Jinja: {exc}") from exc
    previous = sys.gettrace()
    sys.settrace(_Budget())
    try:
        text = compiled.render(
            messages=[dict(m) for m in messages],
            bos_token=bos_token,
            eos_token=eos_token,
            add_generation_prompt=add_generation_prompt,
            raise_exception=_raise,
            strftime_now=lambda fmt: datetime.now().strftime(fmt),
        )
    except SecurityError as exc:
        raise ChatTemplateError(
            f"the chat template tried to reach Python internals and was refused ({exc})"
        ) from exc
    except ChatTemplateError:
        raise
    except (TemplateError, TypeError, ValueError, KeyError, IndexError) as exc:
        raise ChatTemplateError(f"the chat template failed: {exc}") from exc
    except (OverflowError, MemoryError, RecursionError, ArithmeticError) as exc:
        raise ChatTemplateError(f"the chat template was stopped: {exc}") from exc
    finally:
        sys.settrace(previous)
    if len(text) > MAX_VALUE:
        raise ChatTemplateError("the chat template produced a huge prompt; stopped")
    return text


def template_of(metadata: Mapping[str, Any]) -> str | None:
    """The GGUF's default chat template, if it has one."""
    value = metadata.get(TEMPLATE_KEY)
    return value if isinstance(value, str) and value.strip() else None


def chat_turn_ids(
    vocab: Vocabulary, template: str | None, model_name: str, user_text: str
) -> list[int]:
    """`user_text` as one user turn through `template`, tokenized with its special tokens
    (the template writes BOS itself). The length check is the engine's (prompt_checks)."""
    if not user_text:
        raise PromptError("the prompt is empty")
    if template is None:
        raise ChatTemplateError(
            f"{model_name} has no chat template: it is a base model, or its GGUF "
            "lacks tokenizer.chat_template"
        )
    text = render_chat(
        template,
        [{"role": "user", "content": user_text}],
        bos_token=vocab.text_of(vocab.bos),
        eos_token=vocab.text_of(vocab.eos),
    )
    ids = vocab.tokenize(text, add_bos=False, special=True)
    if not ids:
        raise PromptError("the chat template produced an empty prompt")
    return ids
