"""What the views ask of the engine thread and what it answers: requests, their results,
and the queues the steps travel in (see step_queue). Plain records: a view imports
them without the worker."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from app.core.backends.remote_engine import RemoteInfo
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import BeamNode, TokenStep
from app.core.llama.llama_runtime import BackendInfo
from app.workers.step_queue import StepQueue
from app.workers.step_reports import StepReport


@dataclass(frozen=True)
class GenerationRequest:
    """Generate after `prompt` + `prefix_ids` (the kept part of a run), optionally forcing
    `forced` (a step whose token the user picked) first."""

    request_id: int
    prompt: str
    settings: DecodingSettings
    prefix_ids: tuple[int, ...] = ()
    forced: TokenStep | None = None
    batched: int = 0  # leading prefix tokens made by beam search (see generation.run_streams)
    # Where the steps go: the requesting view's own queue, as (request id, StepReport);
    # None when the view wants only the end (the Beam search tab).
    steps: StepQueue[tuple[int, StepReport]] | None = field(default=None, compare=False)


@dataclass(frozen=True)
class PromptToken:
    text: str
    special: bool  # a control token of the template (turn markers, BOS)


PaneQueue = StepQueue[tuple[int, int, StepReport | list[PromptToken]]]


@dataclass(frozen=True)
class PaneSpec:
    """One pane of a comparison: how it decodes, with which model, and whether the prompt
    goes through the model's chat template (as an instruct model expects it)."""

    settings: DecodingSettings
    model: str | None = None  # a GGUF path or "default"; None: the loaded model
    chat: bool = False


@dataclass(frozen=True)
class CompareRequest:
    """Several panes on one prompt. Greedy and sampled panes of the loaded model decode in
    lockstep in one batch (the prompt decoded once); beam panes, chat panes and panes of
    other models run after them, one by one (another model is loaded for its pane and
    closed after it, so two models never need memory at once)."""

    request_id: int
    prompt: str
    panes: tuple[PaneSpec, ...]
    # (request id, pane, StepReport), and a chat pane's prompt (its PromptTokens after
    # the template) before its tokens.
    steps: PaneQueue | None = field(default=None, compare=False)


@dataclass(frozen=True)
class Hypothesis:
    """A finished or surviving beam, for the list under the beam tree."""

    text: str
    score: float  # what the beams were ranked by (with the length penalty, if any)
    logprob: float
    length: int
    finished: bool  # ended with an end-of-generation token
    last_node: int


@dataclass(frozen=True)
class RunFinished:
    reason: str
    tokens_per_second: float
    time_to_first_token: float
    beam_nodes: list[BeamNode] = field(default_factory=list)
    beam_path: list[int] = field(default_factory=list)
    pieces: dict[int, bytes] = field(default_factory=dict)
    hypotheses: list[Hypothesis] = field(default_factory=list)


@dataclass(frozen=True)
class ModelLoaded:
    name: str
    path: Path
    device: str
    n_ctx: int
    layers: int = 0
    gpu_layers: int = 0
    backend: BackendInfo | None = None
    chat_template: bool = False  # the GGUF carries a chat template (an instruct model)
    remote: RemoteInfo | None = None  # a server decodes; the steps carry its top N only

    def describe(self) -> str:
        """As the status bar names the model and where it runs."""
        if self.remote is not None:
            return f"{self.remote.describe()} · context {self.n_ctx:,} per request"
        return f"{self.name} · {self.device} · context {self.n_ctx:,}"
