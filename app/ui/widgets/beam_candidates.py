"""Beam search at one step: every beam's candidates, kept or pruned, with their scores."""

from __future__ import annotations

import html

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QWidget

from app.core.decoding.step_records import BeamNode
from app.ui.widgets.token_text import visible_piece

SHOWN_PER_BEAM = 6


def beams_at(nodes: list[BeamNode], step: int) -> list[tuple[BeamNode | None, list[BeamNode]]]:
    """(the beam, its candidates at `step`, best first) for each beam that was expanded.

    A beam is the node it ended with at the previous step (None: the prompt, at the first
    step of the search).
    """
    by_id = {n.node_id: n for n in nodes}
    groups: dict[int, list[BeamNode]] = {}
    for node in nodes:
        if node.step == step:
            groups.setdefault(node.parent, []).append(node)
    result = []
    for parent_id, children in groups.items():
        children.sort(key=lambda n: -n.score)
        result.append((by_id.get(parent_id), children))
    result.sort(key=lambda group: -(group[0].score if group[0] is not None else 0.0))
    return result


class BeamCandidatesPanel(QLabel):
    """Text under the chart in beam mode: each beam's expansions at the selected step."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setWordWrap(True)
        self.setFrameShape(QLabel.Shape.StyledPanel)
        self.setMargin(6)
        self.setToolTip(
            "Each beam is expanded by its most likely next tokens; the best candidates over "
            "all beams (by total log-probability) become the next beams (✓), the rest are "
            "pruned (✗)"
        )

    def show_step(self, nodes: list[BeamNode], step: int, chosen_parent: int) -> bool:
        """Fill in the panel for `step`; False when the run has no beam tree there."""
        groups = beams_at(nodes, step)
        if not groups:
            self.clear()
            return False
        lines = [
            f"<b>Beam search at step {step + 1}</b>: {len(groups)} beam(s) expanded; each "
            "candidate's log p (the model, T = 1)"
        ]
        for number, (beam, children) in enumerate(groups, start=1):
            head = "prompt" if beam is None else f"“{html.escape(visible_piece(beam.piece))}”"
            score = "" if beam is None else f" (total log p {beam.score:.2f})"
            best = (beam.node_id if beam is not None else -1) == chosen_parent
            label = f"beam {number} after {head}{score}" + (" — best path" if best else "")
            entries = ", ".join(
                f"{'✓' if child.kept else '✗'} {html.escape(visible_piece(child.piece))} "
                f"{child.logprob:.2f}"
                for child in children[:SHOWN_PER_BEAM]
            )
            lines.append(f"{'<b>' if best else ''}{label}{'</b>' if best else ''}: {entries}")
        self.setText("<br>".join(lines))
        return True
