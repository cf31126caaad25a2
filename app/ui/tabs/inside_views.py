"""The Workspace's views inside the model (Layers, Attention) beside its chart: when one
of them is showing, the selected step is looked into on the inspection thread, so a
stream in progress goes on; the newest selection wins."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QTabWidget

from app.core.inside.attention_maps import AttentionMaps
from app.core.inside.logit_lens import Lens
from app.ui.widgets.attention_view import AttentionView
from app.ui.widgets.layers_view import LayersView
from app.workers.inspection_worker import InspectionRequest, InspectionWorker

Target = tuple[str, tuple[int, ...], int, int]  # prompt, ids before, chosen id, step number


class InsideViews(QObject):
    def __init__(self, tabs: QTabWidget, next_request_id: Callable[[], int]) -> None:
        super().__init__(tabs)
        self.layers = LayersView()
        self.attention = AttentionView()
        tabs.addTab(self.layers, "Layers")
        tabs.addTab(self.attention, "Attention")
        tabs.setTabToolTip(1, "What each layer would predict at the selected step (logit lens)")
        tabs.setTabToolTip(2, "Where each attention head looks at the selected step")
        tabs.currentChanged.connect(lambda _index: self.refresh())
        self._tabs = tabs
        self._next_id = next_request_id
        self._worker: InspectionWorker | None = None
        self._target: Target | None = None
        self._asked: dict[int, tuple[str, Target]] = {}
        self._shown: dict[str, Target] = {}

    def attach(self, worker: InspectionWorker) -> None:
        self._worker = worker
        worker.sig_lens.connect(self._on_lens)
        worker.sig_attention.connect(self._on_attention)
        worker.sig_failed.connect(self._on_failed)

    def show_step(self, prompt: str, ids: Sequence[int], index: int, number: int) -> None:
        """Step `index` (shown as `number`) of a run of `prompt` that generated `ids`."""
        self._target = (prompt, tuple(ids[:index]), int(ids[index]), number)
        self.refresh()

    def clear(self) -> None:
        self._target = None
        self._shown.clear()

    def refresh(self) -> None:
        current = self._tabs.currentWidget()
        kind = (
            "lens" if current is self.layers else "attention" if current is self.attention else ""
        )
        target = self._target
        if not kind or target is None or self._worker is None or self._shown.get(kind) == target:
            return
        view = self.layers if kind == "lens" else self.attention
        view.show_message(f"Looking inside the model at step {target[3]}…")
        request_id = self._next_id()
        self._asked = {request_id: (kind, target)}  # an older answer is not wanted any more
        prompt, before, chosen, _number = target
        self._worker.inspect(InspectionRequest(request_id, kind, prompt, before, chosen))

    def _answer(self, request_id: int, kind: str) -> Target | None:
        asked = self._asked.get(request_id)
        if asked is None or asked[0] != kind:
            return None
        del self._asked[request_id]
        self._shown[kind] = asked[1]
        return asked[1]

    def _on_lens(self, request_id: int, lens: Lens) -> None:
        target = self._answer(request_id, "lens")
        if target is not None:
            self.layers.show_lens(lens, target[3])

    def _on_attention(self, request_id: int, maps: AttentionMaps) -> None:
        target = self._answer(request_id, "attention")
        if target is not None:
            self.attention.show_maps(maps, target[3])

    def _on_failed(self, request_id: int, message: str) -> None:
        asked = self._asked.pop(request_id, None)
        if asked is not None:
            view = self.layers if asked[0] == "lens" else self.attention
            view.show_message(message)
