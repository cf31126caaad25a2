"""The default model's chat template renders as llama-cpp-python renders it, safely."""

from __future__ import annotations

import pytest
from llama_cpp.llama_chat_format import Jinja2ChatFormatter

from app.core.gguf.gguf_file import read_gguf
from app.core.llama.chat_template import ChatTemplateError, render_chat, template_of
from app.core.llama.engine import Engine

# The default model is Gemma 3 270M *base*: its GGUF carries no chat template. This is the
# shape of the template Gemma 3's instruct models carry (system text folded into the
# first user turn, "model" as the assistant's role, alternation enforced).
GEMMA_STYLE_TEMPLATE = """{{ bos_token }}
{%- if messages[0]['role'] == 'system' -%}
    {%- set first_user_prefix = messages[0]['content'] + '\n\n' -%}
    {%- set loop_messages = messages[1:] -%}
{%- else -%}
    {%- set first_user_prefix = "" -%}
    {%- set loop_messages = messages -%}
{%- endif -%}
{%- for message in loop_messages -%}
    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}
        {{ raise_exception("Conversation roles must alternate user/assistant/user/...") }}
    {%- endif -%}
    {%- set role = "model" if message['role'] == 'assistant' else message['role'] -%}
    {{ '<start_of_turn>' + role + '\n' + (first_user_prefix if loop.first else "") }}
    {{- message['content'] | trim -}}
    {{ '<end_of_turn>\n' }}
{%- endfor -%}
{%- if add_generation_prompt -%}
    {{ '<start_of_turn>model\n' }}
{%- endif -%}
"""

MESSAGES = [
    {"role": "system", "content": "You are a terse assistant."},
    {"role": "user", "content": "Name a colour."},
    {"role": "assistant", "content": "Blue."},
    {"role": "user", "content": "Another one?"},
]


def test_the_base_default_model_has_no_template(engine: Engine) -> None:
    assert template_of(read_gguf(engine.path, require_tensors=False).metadata) is None
    assert template_of({"tokenizer.chat_template": "{{ x }}"}) == "{{ x }}"


def test_rendering_matches_llama_cpp_python(engine: Engine) -> None:
    """Same template, the default model's own special tokens, every option."""
    template = GEMMA_STYLE_TEMPLATE
    vocab = engine.vocab
    bos, eos = vocab.text_of(vocab.bos), vocab.text_of(vocab.eos)
    for messages in (MESSAGES, MESSAGES[1:2]):
        for generation_prompt in (True, False):
            ours = render_chat(
                template,
                messages,
                bos_token=bos,
                eos_token=eos,
                add_generation_prompt=generation_prompt,
            )
            theirs = Jinja2ChatFormatter(
                template, eos, bos, add_generation_prompt=generation_prompt
            )(messages=messages)  # type: ignore[arg-type]
            assert ours == theirs.prompt
    rendered = render_chat(template, MESSAGES[1:2], bos_token=bos, eos_token=eos)
    assert (
        rendered == "<bos><start_of_turn>user\nName a colour.<end_of_turn>\n<start_of_turn>model\n"
    )
    with pytest.raises(ChatTemplateError, match="roles must alternate"):
        render_chat(template, [MESSAGES[1], MESSAGES[1]], bos_token=bos, eos_token=eos)


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ messages.__class__.__init__.__globals__ }}",
        "{% set x = messages.append({'role': 'user'}) %}{{ x }}",
        "{{ cycler.__init__.__globals__.os.popen('id').read() }}",
    ],
)
def test_templates_reaching_python_internals_are_refused(template: str) -> None:
    with pytest.raises(ChatTemplateError, match="was refused"):
        render_chat(template, MESSAGES, bos_token="<bos>", eos_token="<eos>")


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{% for i in range(10**9) %}x{% endfor %}", "Range too big"),
        ("{{ 'x' * 10**9 }}", "huge value"),
        ("{{ 2 ** 100000 }}", "huge power"),
        (
            "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}",
            "more than 2 s",
        ),
        (
            "{% set ns = namespace(s='x') %}{% for i in range(64) %}"
            "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s }}",
            "huge value",
        ),
        ("{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}", "recursion"),
    ],
)
def test_templates_exhausting_time_or_memory_are_stopped(template: str, message: str) -> None:
    with pytest.raises(ChatTemplateError, match=message):
        render_chat(template, MESSAGES, bos_token="<bos>", eos_token="<eos>")
    # A normal template still renders afterwards (the trace hook is gone).
    assert render_chat("{{ messages[0]['content'] * 2 }}", MESSAGES, bos_token="", eos_token="")


def test_broken_and_raising_templates_give_clear_errors() -> None:
    with pytest.raises(ChatTemplateError, match="not valid Jinja"):
        render_chat("{% for m in messages %}", MESSAGES, bos_token="", eos_token="")
    with pytest.raises(ChatTemplateError, match="roles must alternate"):
        render_chat(
            "{{ raise_exception('roles must alternate') }}", MESSAGES, bos_token="", eos_token=""
        )
