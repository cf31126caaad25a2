"""The words around the probability chart: its title, its colour legend and the softmax
formula with the chosen token's numbers, each labelled with the temperature it uses."""

from __future__ import annotations

import html

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import TokenStep
from app.core.units import format_percent as percent
from app.ui.widgets import palette
from app.ui.widgets.estimate_bars import estimate_note
from app.ui.widgets.token_text import visible_piece

KINDS = {"greedy": "greedy picks the argmax", "sample": "sampled", "beam": "best beam"}


def shows_model_too(temperature: float) -> bool:
    """Whether the chart carries the model's p (T = 1) beside its own."""
    return abs(temperature - 1.0) > 1e-9


def chart_title(
    step: TokenStep,
    chosen_by: str,
    argmax: int,
    temperature: float,
    sampling: DecodingSettings | None,
) -> str:
    """Which token the step chose and how; what the bars show at `temperature`, which
    is "view only" unless the screen samples (then it is the sampling temperature)."""
    kind = "forced by you" if step.forced else KINDS.get(chosen_by, "")
    argmax_note = ""
    if chosen_by == "greedy" and argmax >= 0 and argmax != step.id and not step.forced:
        argmax_note = " (argmax differs)"
    t = temperature
    view_only = "" if sampling else " (view only)"
    if shows_model_too(t):
        scale = f"bars: p at T = {t:.2f}{view_only} · (in brackets) the model, T = 1"
    else:
        scale = "bars: the model's p, softmax(z) at T = 1"
    note = estimate_note(step, t, sampling)
    head = f"Step {step.number}: chose “{visible_piece(step.piece)}” — {kind}{argmax_note}"
    return f"{head}\n{scale}" + (f"\n{note}" if note else "")


def legend_html(sampling: bool, beam: bool) -> str:
    # Non-breaking hyphens: a narrow column must not wrap "min-" / "p".
    entries = [(palette.CHOSEN, "chosen")]
    if sampling:
        entries += [(palette.BAR, "kept by top‑k / top‑p / min‑p"), (palette.CUT, "cut")]
    elif beam:
        entries += [
            (palette.KEPT_BEAM, "became a beam"),
            (palette.PRUNED_BEAM, "pruned"),
            (palette.BAR, "not a candidate of this beam"),
        ]
    else:
        entries.append((palette.BAR, "other tokens"))
    entries.append((palette.OTHERS, "all the rest"))
    return " &nbsp;".join(
        f"<span style='color:{color.name()}'>■</span>&nbsp;{text}" for color, text in entries
    )


def formula_html(step: TokenStep | None, temperature: float) -> str:
    t = temperature
    lines = [
        "<b>softmax with temperature:</b>&nbsp; p<sub>i</sub> = exp(z<sub>i</sub> / T)"
        f" / Σ<sub>j</sub> exp(z<sub>j</sub> / T),&nbsp; T = {t:.2f}"
    ]
    if step is not None:
        p = step.p_at(t)
        piece = html.escape(visible_piece(step.piece))
        scaled = f"{step.logit / t:.2f}" if t > 0 else "∞"
        lines.append(
            f"chosen “{piece}”: z = {step.logit:.2f}, z / T = {scaled}, p = {percent(p)} "
            f"at T = {t:.2f}; the model (T = 1): p = {percent(step.p_model)}"
        )
        if t == 0:
            lines.append("T = 0 is the limit: all probability on the argmax")
    return "<br>".join(lines)
