"""The engine's own thread: loads models and generates, reporting through signals.

The UI thread never calls llama.cpp. Cancelling sets a threading.Event that the decode
loop checks between decodes (a queued "stop" slot would not run while the worker is
busy). Every request carries an id so results of a superseded request are dropped.
Loading a model that fails keeps the previous one loaded and usable.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import replace
from typing import TYPE_CHECKING

from PySide6.QtCore import Signal, Slot

from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.step_records import BeamNode, TokenStep
from app.core.library.file_hash import cached_sha256
from app.core.llama.engine_config import EngineConfig
from app.core.llama.load_progress import LoadCancelled, LoadProgress
from app.workers.engine_requests import (
    CompareRequest,
    GenerationRequest,
    ModelLoaded,
    PaneQueue,
    PaneSpec,
    RunFinished,
)
from app.workers.inspection_worker import InspectorSlot
from app.workers.step_queue import sender
from app.workers.step_reports import StepReport, StepReporter
from app.workers.worker_thread import Attempt, Worker

if TYPE_CHECKING:
    from app.core.backends.remote_engine import RemoteEngine

log = logging.getLogger(__name__)
# Continuing a run whose text is no longer in the cache (another tab used the engine, or a
# reopened session) decodes it again token by token, ~15 ms a token here: say so when
# that takes noticeably long.
REDECODE_NOTICE = 16


Report = Callable[[StepReport], None]


class EngineWorker(Worker):
    sig_model_loaded = Signal(object)
    """A model finished loading (ModelLoaded)."""
    sig_model_failed = Signal(str, bool)
    """(reason, whether a previous model is still loaded) when a model could not load."""
    sig_model_hash = Signal(str, str)
    """(path, sha256) of the loaded model file, computed after loading."""
    sig_beam_progress = Signal(int, int)
    """(request id, steps searched) while a beam search runs."""
    sig_redecoding = Signal(int, int)
    """(request id, tokens): the text so far is decoded again, token by token, first."""
    sig_beam_nodes = Signal(int, object)
    """(request id, list of BeamNode): the candidates of one more step of a beam search."""
    sig_finished = Signal(int, object)
    """(request id, RunFinished) when a generation ends."""
    sig_failed = Signal(int, str)
    """(request id, message) when a generation fails."""
    sig_pane_finished = Signal(int, int, object)
    """(request id, pane, RunFinished) when one pane of a compare run ends."""
    sig_compare_finished = Signal(int)
    """(request id) when every pane of a compare run has ended."""
    sig_engine_lost = Signal(str, bool)
    """(message, whether a loaded model was lost): llama.cpp gave up on an RPC worker."""
    sig_pane_note = Signal(int, int, str)
    """(request id, pane, text): how a pane ran, or why it could not."""
    sig_load_progress = Signal(str, object)
    """(stage, fraction done or None) while a model loads."""
    sig_load_cancelled = Signal(bool)
    """(whether the previous model is still loaded) after cancel_load."""

    _sig_load = Signal(str, object, bool)
    _sig_connect = Signal(str, object)
    _sig_generate = Signal(object)
    _sig_compare = Signal(object)

    def __init__(self) -> None:
        super().__init__()
        self._engine: object = None
        self.inspection = InspectorSlot()  # the views inside the model, on their own thread
        self._load_cancel = threading.Event()
        self._sig_load.connect(self._load)
        self._sig_connect.connect(self._connect)
        self._sig_generate.connect(self._generate)
        self._sig_compare.connect(self._compare)

    # Called from the UI thread: queued into the worker thread.
    def load(self, spec: str, config: EngineConfig | None = None, free_first: bool = False) -> None:
        """Load `spec`; the current model stays loaded (and usable if this fails) unless
        `free_first`, for reloading the same model with settings that need the memory."""
        self._load_cancel.clear()
        self._sig_load.emit(spec, config, free_first)

    def cancel_load(self) -> None:
        """Stop the load in progress (answered by sig_load_cancelled)."""
        self._load_cancel.set()

    def connect_server(self, url: str, api_key: str | None) -> None:
        """Use the llama-server at `url` instead of a local model (answered like a load:
        sig_model_loaded with `remote` set, or sig_model_failed)."""
        self._sig_connect.emit(url, api_key)

    def generate(self, request: GenerationRequest) -> None:
        self.cancel.clear()
        self._sig_generate.emit(request)

    def compare(self, request: CompareRequest) -> None:
        self.cancel.clear()
        self._sig_compare.emit(request)

    def _fail_request(self, rid: int) -> Callable[[str, Exception], None]:
        return lambda message, _error: self.sig_failed.emit(rid, message)

    def _note_pane(self, rid: int, pane: int) -> Callable[[str, Exception], None]:
        return lambda message, _error: self.sig_pane_note.emit(rid, pane, message)

    @Slot(str, object, bool)
    def _load(self, spec: str, config: EngineConfig | None, free_first: bool) -> None:
        workers = bool(config and config.rpc_workers)
        self._guarded(workers, lambda: self._load_now(spec, config, free_first), None)

    def _load_now(self, spec: str, config: EngineConfig | None, free_first: bool) -> None:
        from app.core.llama.engine import Engine

        had_model = self._engine is not None
        if had_model and free_first:
            self._replace_engine(None)
            had_model = False

        def failed(message: str, error: Exception) -> None:
            if isinstance(error, LoadCancelled):
                log.info("loading %s was cancelled", spec)
                self.sig_load_cancelled.emit(had_model)
                return
            log.warning("could not load %s: %s", spec, message)
            self.sig_model_failed.emit(message, had_model)

        progress = LoadProgress(self.sig_load_progress.emit, self._load_cancel)
        with Attempt("loading the model", failed) as attempt:  # never takes the window down
            engine = Engine(spec, config, progress=progress)
        if attempt.failed:
            return
        self._replace_engine(engine)
        info = engine.info
        facts = (info.card.name, engine.path, info.describe_device(), engine.n_ctx)
        log.info("loaded %s (%s) on %s, context %d; %s", *facts, info.backend.system_info)
        self.sig_model_loaded.emit(
            ModelLoaded(
                *facts,
                *(info.card.layers or 0, info.n_gpu_layers, info.backend),
                info.card.chat_template,
            )
        )
        path = engine.path
        threading.Thread(  # hashing a large file must not hold up the first generation
            target=lambda: self.sig_model_hash.emit(str(path), cached_sha256(path)),
            name="model-hash",
            daemon=True,
        ).start()

    @Slot(str, object)
    def _connect(self, url: str, api_key: str | None) -> None:
        from app.core.backends.remote_engine import RemoteEngine
        from app.workers.remote_runs import loaded_from

        had_model = self._engine is not None

        def failed(message: str, _error: Exception) -> None:
            self.sig_model_failed.emit(message, had_model)

        with Attempt("connecting to the server", failed) as attempt:
            remote = RemoteEngine(url, api_key)
        if attempt.failed:
            return
        self._replace_engine(remote)
        log.info("connected to %s", remote.info.describe())
        self.sig_model_loaded.emit(loaded_from(remote.info))

    @Slot(object)
    def _generate(self, request: GenerationRequest) -> None:
        rid = request.request_id
        self._guarded(self._over_rpc(), lambda: self._generate_now(request), rid)

    def _generate_now(self, request: GenerationRequest) -> None:
        from app.core.backends.remote_engine import RemoteEngine
        from app.core.llama.engine import Engine

        engine = self._engine
        rid = request.request_id
        if not isinstance(engine, Engine | RemoteEngine):
            self.sig_failed.emit(rid, "no model is loaded")
            return
        put: Report = sender(request.steps, rid)
        with Attempt("the generation", self._fail_request(rid)):
            ids = engine.tokenize_prompt(request.prompt) + list(request.prefix_ids)
            first_index = len(request.prefix_ids)
            if request.forced is not None:
                forced = replace(
                    request.forced,
                    index=first_index,
                    ends_generation=engine.vocab.is_eog(request.forced.id),
                )
                put(StepReporter(engine.vocab).report(forced))
                ids.append(forced.id)
                first_index += 1
                if forced.ends_generation:
                    self.sig_finished.emit(rid, RunFinished("eog", 0.0, 0.0))
                    return
            if len(ids) >= engine.n_ctx:
                self.sig_finished.emit(rid, RunFinished("context_full", 0.0, 0.0))
                return
            if request.settings.mode == "beam":
                finished = self._beam(engine, rid, ids, request.settings, first_index, put)
            else:
                finished = self._stream(
                    engine, rid, ids, request.settings, first_index, put, request.batched
                )
            self.sig_finished.emit(rid, finished)

    def _stream(
        self,
        engine: object,
        rid: int,
        ids: list[int],
        settings: DecodingSettings,
        first: int,
        put: Report,
        batched: int = 0,
    ) -> RunFinished:
        from app.core.backends.remote_engine import RemoteEngine
        from app.core.decoding.generation import generate
        from app.core.decoding.step_records import GenerationStats
        from app.workers.remote_runs import stream_remote

        if isinstance(engine, RemoteEngine):
            return stream_remote(engine, ids, settings, first, put, self.cancel)
        vocab = engine.vocab  # type: ignore[attr-defined]
        stats = GenerationStats()
        reporter = StepReporter(vocab)
        again = engine.redecode_count(ids, len(ids) - first + batched)  # type: ignore[attr-defined]
        if again > REDECODE_NOTICE:
            self.sig_redecoding.emit(rid, again)

        def on_step(step: TokenStep) -> None:
            put(reporter.report(step))

        result = generate(
            engine,  # type: ignore[arg-type]
            ids,
            settings,
            cancel=self.cancel,
            on_step=on_step,
            stats=stats,
            first_index=first,
            batched=batched,
        )
        return RunFinished(
            result.stop_reason or "", stats.tokens_per_second, stats.time_to_first_token
        )

    def _beam(
        self,
        engine: object,
        rid: int,
        ids: list[int],
        settings: DecodingSettings,
        first: int,
        put: Report,
    ) -> RunFinished:
        from app.workers.beam_runs import run_beam_search

        searched = 0

        def on_nodes(new_nodes: list[BeamNode]) -> None:
            nonlocal searched
            searched += 1
            self.sig_beam_progress.emit(rid, searched)
            self.sig_beam_nodes.emit(rid, new_nodes)

        return run_beam_search(engine, ids, settings, first, put, self.cancel, on_nodes)

    def _compare_remote(self, engine: RemoteEngine, request: CompareRequest) -> None:
        from app.workers.remote_runs import compare_remote

        rid = request.request_id

        def run_beam(
            remote: RemoteEngine, ids: list[int], settings: DecodingSettings, put: Report
        ) -> RunFinished:
            return self._beam(remote, rid, ids, settings, 0, put)

        with Attempt("the comparison", self._fail_request(rid)):
            compare_remote(
                engine,
                request,
                self.cancel,
                lambda pane: sender(request.steps, rid, pane),
                lambda pane, finished: self.sig_pane_finished.emit(rid, pane, finished),
                lambda pane, text: self.sig_pane_note.emit(rid, pane, text),
                run_beam,
            )
            self.sig_compare_finished.emit(rid)

    @Slot(object)
    def _compare(self, request: CompareRequest) -> None:
        rid = request.request_id
        self._guarded(self._over_rpc(), lambda: self._compare_now(request), rid)

    def _compare_now(self, request: CompareRequest) -> None:
        from app.core.backends.remote_engine import RemoteEngine
        from app.core.decoding.generation import run_streams
        from app.core.decoding.step_records import GenerationStats
        from app.core.llama.engine import Engine

        engine = self._engine
        rid = request.request_id
        queue = request.steps
        if isinstance(engine, RemoteEngine):
            self._compare_remote(engine, request)
            return
        if not isinstance(engine, Engine):
            self.sig_failed.emit(rid, "no model is loaded")
            return
        lockstep = [
            i
            for i, spec in enumerate(request.panes)
            if spec.model is None and not spec.chat and spec.settings.mode != "beam"
        ]
        with Attempt("the comparison", self._fail_request(rid)) as run:
            if lockstep:
                ids = engine.tokenize_prompt(request.prompt)
                vocab = engine.vocab
                stats = GenerationStats()
                reporters = [StepReporter(vocab) for _pane in lockstep]
                puts = [sender(queue, rid, pane) for pane in lockstep]

                def on_step(seq: int, step: TokenStep) -> None:
                    puts[seq](reporters[seq].report(step))

                results = run_streams(
                    engine,
                    ids,
                    [request.panes[i].settings for i in lockstep],
                    cancel=self.cancel,
                    on_step=on_step,
                    stats=stats,
                )
                # The streams share each batch: the speed is the batch's, per stream.
                per_stream = stats.tokens_per_second / max(1, len(lockstep))
                for pane, result in zip(lockstep, results, strict=True):
                    finished = RunFinished(
                        result.stop_reason or "", per_stream, stats.time_to_first_token
                    )
                    self.sig_pane_finished.emit(rid, pane, finished)
                if len(lockstep) > 1:
                    for pane in lockstep:
                        self.sig_pane_note.emit(
                            rid,
                            pane,
                            f"in lockstep with {len(lockstep) - 1} other "
                            f"pane{'s' if len(lockstep) > 2 else ''}",
                        )
        if run.failed:
            return
        for pane, spec in enumerate(request.panes):
            if pane in lockstep:
                continue
            if self.cancel.is_set():
                self.sig_pane_finished.emit(rid, pane, RunFinished("cancelled", 0.0, 0.0))
                continue
            finished = RunFinished("error", 0.0, 0.0)  # one pane failing leaves the others
            with Attempt("this pane", self._note_pane(rid, pane)):
                finished = self._solo_pane(engine, rid, pane, spec, request.prompt, queue)
            self.sig_pane_finished.emit(rid, pane, finished)
        self.sig_compare_finished.emit(rid)

    def _solo_pane(
        self,
        loaded: object,
        rid: int,
        pane: int,
        spec: PaneSpec,
        prompt: str,
        queue: PaneQueue | None,
    ) -> RunFinished:
        """A pane that runs on its own: beam search, a chat prompt, or another model."""
        from app.workers.pane_runs import solo_pane

        def note(text: str) -> None:
            self.sig_pane_note.emit(rid, pane, text)

        def beam(
            engine: object, ids: list[int], settings: DecodingSettings, put: Report
        ) -> RunFinished:
            return self._beam(engine, rid, ids, settings, 0, put)

        put = sender(queue, rid, pane)
        return solo_pane(loaded, spec, prompt, put, self.cancel, note, beam)

    def _over_rpc(self) -> bool:
        return bool(getattr(getattr(self._engine, "config", None), "rpc_workers", ()))

    def _guarded(self, needed: bool, body: Callable[[], None], rid: int | None) -> None:
        """Run `body` here, or, when RPC workers hold layers, on a thread llama.cpp may
        give up on (abort_guard): the run or load then fails with its message, the model
        is lost and the window offers to load it again without the workers."""
        if not needed:
            body()
            return
        from app.core.llama.abort_guard import EngineLost, run_guarded

        try:
            run_guarded(body, "llama.cpp with RPC workers")
        except EngineLost as exc:
            log.error("%s", exc)
            had_model = self._engine is not None and rid is not None
            self._engine = None  # parked with its thread: never touched again
            self.inspection.forget()
            if rid is None:
                self.sig_model_failed.emit(str(exc), False)
            else:
                self.sig_failed.emit(rid, str(exc))
            self.sig_engine_lost.emit(str(exc), had_model)

    def _replace_engine(self, engine: object) -> None:
        """A new model (or none): the inspection of the old one ends first (it waits for
        one in progress, which reads the old model's weights), then the old one goes."""
        self.inspection.set_engine(None)
        if self._engine is not None:
            self._engine.close()  # type: ignore[attr-defined]
        self._engine = engine
        self.inspection.set_engine(engine)

    def shutdown(self) -> None:
        self._replace_engine(None)
