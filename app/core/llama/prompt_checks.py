"""The one place that says whether a prompt fits the context, so every path (a typed
prompt, a chat turn, a reopened text, a prefill) refuses it with the same words."""

from __future__ import annotations

from app.core.errors import PromptError


def check_prompt(
    n: int,
    n_ctx: int,
    *,
    what: str = "prompt",
    leave_room: bool = True,
    hint: str = "",
) -> None:
    """Raise PromptError when a prompt of `n` tokens is empty or does not fit `n_ctx`.

    `leave_room` keeps one position free for the first generated token (a prompt about
    to be continued); a text that is only decoded may fill the context.
    """
    if n == 0:
        raise PromptError(f"the {what} is empty")
    if n > n_ctx or (leave_room and n == n_ctx):
        raise PromptError(f"the {what} has {n} tokens but the context holds {n_ctx}{hint}")
