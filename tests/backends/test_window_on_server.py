"""The window on a real llama-server (started by the tests on 127.0.0.1 with the default
model, one slot, a key): every tab through the engine thread, compared with the local
engine; the approximations labelled; failures told in the window, the app usable."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot
from servers import KEY, PROMPT, free_port

from app.core.backends.server_answers import ServerError
from app.core.backends.server_client import ServerClient
from app.core.backends.server_process import ServeOptions, ServerProcess
from app.core.decoding.beam_search import beam_search
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.decoding.top_n_distribution import TopNDistribution
from app.core.llama.engine import Engine
from app.ui.main_window import MainWindow

TIMEOUT_MS = 120_000


def _url(server: ServerProcess) -> str:
    return f"http://127.0.0.1:{server.options.port}"


@pytest.fixture
def window(qtbot: QtBot, model_path: Path, server: ServerProcess) -> Iterator[MainWindow]:
    """A window that loaded the local model, then connected to the server."""
    win = MainWindow(str(model_path))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.workspace.generate_button.isEnabled(), timeout=TIMEOUT_MS)
    win.connect_server(_url(server), KEY)
    qtbot.waitUntil(lambda: win.loaded_model is not None and win.loaded_model.remote is not None)
    qtbot.waitUntil(lambda: win.workspace.generate_button.isEnabled(), timeout=TIMEOUT_MS)
    yield win


def _generate(qtbot: QtBot, win: MainWindow, settings: DecodingSettings) -> list[int]:
    ws = win.workspace
    ws.prompt_edit.setPlainText(PROMPT)
    ws.decoding.apply(settings)
    ws.generate_button.click()
    qtbot.waitUntil(lambda: ws.record is not None and not ws.running, timeout=TIMEOUT_MS)
    assert ws.record is not None
    return ws.record.ids


def test_workspace_streams_from_the_server_with_labelled_estimates(
    qtbot: QtBot, window: MainWindow, engine: Engine, server: ServerProcess
) -> None:
    address = f"127.0.0.1:{server.options.port}"
    assert f"llama-server at {address} · gemma-3-270m" in window.model_label.text()
    assert "1 slot" in window.model_label.text()
    assert "Vocabulary: 262,144 tokens" in window.model_label.toolTip()
    assert window.model_picker.currentText() == f"{address} (llama-server)"

    greedy = DecodingSettings(mode="greedy", max_tokens=16)
    ids = _generate(qtbot, window, greedy)
    local = generate(engine, engine.tokenize_prompt(PROMPT), greedy)
    assert ids == local.ids  # no near-tie on this prompt (measured)
    ws = window.workspace
    assert ws.record is not None
    for remote_step, local_step in zip(ws.record.steps, local.steps, strict=True):
        assert isinstance(remote_step.distribution, TopNDistribution)
        for a, b in zip(remote_step.top(5, 1.0), local_step.top(5, 1.0), strict=True):
            assert a.id == b.id and a.p == pytest.approx(b.p, abs=1e-3)

    assert ws.timeline.entropy_label == "entropy (estimated)"
    chart = ws.chart
    ws.select_step(0)
    assert "server sent the top 20; the rest is estimated" in chart.title.text()
    chart.set_temperature(1.0)
    assert chart.estimate_bars.bounds == []  # T = 1: exact, nothing to bound
    chart.set_temperature(0.7)
    assert "(bounds drawn)" in chart.title.text()
    assert len(chart.estimate_bars.bounds) == len(chart.bars)
    for bar, (low, high) in zip(chart.bars, chart.estimate_bars.bounds, strict=True):
        assert low - 1e-12 <= bar.p <= high + 1e-12
    path = Path(tempfile.gettempdir()) / "llm-playground-on-a-server.png"
    assert window.grab().save(str(path), "PNG")


def test_sampling_with_a_seed_repeats_on_the_server(qtbot: QtBot, window: MainWindow) -> None:
    sampled = DecodingSettings(mode="sample", temperature=1.2, seed=7, max_tokens=20)
    first = _generate(qtbot, window, sampled)
    assert _generate(qtbot, window, sampled) == first
    assert _generate(qtbot, window, sampled.with_(seed=8)) != first
    ws = window.workspace
    assert ws.record is not None and all(s.chosen_by == "sample" for s in ws.record.steps)


def test_compare_beam_and_tokenizer_tabs_on_the_server(
    qtbot: QtBot, window: MainWindow, engine: Engine
) -> None:
    compare = window.compare
    window.tabs.setCurrentWidget(compare)
    compare.prompt_edit.setPlainText(PROMPT)
    compare.max_tokens.setValue(12)
    compare.run_button.click()
    qtbot.waitUntil(lambda: not compare.running, timeout=TIMEOUT_MS)
    prompt_ids = engine.tokenize_prompt(PROMPT)
    greedy_pane = compare.panes[0]
    alone = generate(engine, prompt_ids, greedy_pane.settings.with_(max_tokens=12))
    assert greedy_pane.ids == alone.ids
    assert all(len(p.ids) == 12 for p in compare.panes)
    assert "in parallel with 1 other pane" in greedy_pane.note.text()

    beams = window.beam_view
    window.tabs.setCurrentWidget(beams)
    beams.prompt_edit.setPlainText(PROMPT)
    beams.width_spin.setValue(3)
    beams.max_tokens.setValue(4)
    beams.run_button.click()
    qtbot.waitUntil(lambda: not beams.running, timeout=TIMEOUT_MS)
    reference = beam_search(engine, prompt_ids, beams.settings())
    tree = beams.tree
    assert len(tree.nodes) == len(reference.nodes)
    assert [tree.nodes[i].token for i in tree.best_path] == reference.best.ids
    # Four steps: equal within 1e-3. Beyond them the local search (its beams decoded
    # together in one batch) and the server (each beam after its cached prefix) part by
    # up to 0.16 nats by step 5 here, as far as either is from the beam decoded alone:
    # llama.cpp's numbers move with the batch's shape.
    for node in reference.nodes:
        drawn = tree.nodes[node.node_id]
        assert (drawn.token, drawn.parent, drawn.kept) == (node.token, node.parent, node.kept)
        assert drawn.logprob == pytest.approx(node.logprob, abs=1e-3)
    assert beams.finished is not None
    assert beams.finished.hypotheses[0].text == reference.best.text

    tokenizer = window.tokenizer
    window.tabs.setCurrentWidget(tokenizer)
    text = "Byte pair encoding, naïvely: 1234567 😀"
    tokenizer.input.setPlainText(text)
    qtbot.waitUntil(
        lambda: tokenizer.result is not None and tokenizer.result.text == text, timeout=30_000
    )
    assert tokenizer.result is not None
    assert [i.id for i in tokenizer.result.infos] == engine.vocab.tokenize(text, add_bos=True)
    assert "llama-server at" in tokenizer.result.name
    local = engine.vocab.infos_of(text.encode(), [i.id for i in tokenizer.result.infos])
    assert [(i.start, i.end) for i in tokenizer.result.infos] == [(i.start, i.end) for i in local]
    tokenizer.input.selectAll()
    tokenizer.start_replay()
    qtbot.waitUntil(lambda: "runs on a server" in tokenizer.warning.text(), timeout=10_000)


def test_a_wrong_key_and_an_unreachable_server_keep_the_model(
    qtbot: QtBot, window: MainWindow, server: ServerProcess
) -> None:
    connected = window.model_label.text()
    window.connect_server(_url(server), "not-the-key")
    qtbot.waitUntil(lambda: window.error_dialog is not None, timeout=TIMEOUT_MS)
    assert window.error_dialog is not None
    assert "refused the key (401)" in window.error_dialog.text()
    assert "still loaded and ready" in window.error_dialog.text()
    assert window.model_label.text() == connected
    first = window.error_dialog
    window.connect_server(f"http://127.0.0.1:{free_port()}", None)
    qtbot.waitUntil(lambda: window.error_dialog is not first, timeout=TIMEOUT_MS)
    unreachable = window.error_dialog
    assert unreachable is not None and "127.0.0.1" in unreachable.text()
    assert window.workspace.generate_button.isEnabled()


def test_a_server_that_dies_mid_run_ends_the_run_and_keeps_its_tokens(
    qtbot: QtBot, model_path: Path, tmp_path: Path
) -> None:
    options = ServeOptions(model_path, port=free_port(), parallel=1, n_ctx=4096)
    process = ServerProcess(options, log=tmp_path / "server.log")
    try:
        process.wait_ready()
        win = MainWindow(str(model_path))
        qtbot.addWidget(win)
        win.show()
        qtbot.waitUntil(lambda: win.workspace.generate_button.isEnabled(), timeout=TIMEOUT_MS)
        win.connect_server(_url(process), None)
        qtbot.waitUntil(lambda: win.loaded_model is not None and bool(win.loaded_model.remote))
        ws = win.workspace
        qtbot.waitUntil(ws.generate_button.isEnabled)
        ws.prompt_edit.setPlainText(PROMPT)
        ws.decoding.apply(DecodingSettings(mode="greedy", max_tokens=3000))
        ws.generate_button.click()
        qtbot.waitUntil(
            lambda: ws.record is not None and len(ws.record.steps) >= 5, timeout=TIMEOUT_MS
        )
        process.stop()
        qtbot.waitUntil(lambda: not ws.running, timeout=TIMEOUT_MS)
        assert ws.record is not None and len(ws.record.steps) >= 5  # what came stays
        assert "connection" in win.statusBar().currentMessage()
        assert ws.generate_button.isEnabled()  # the app stays usable
    finally:
        process.stop()


def test_the_window_serves_its_model_to_the_class_and_stops(qtbot: QtBot, model_path: Path) -> None:
    win = MainWindow(str(model_path))
    qtbot.addWidget(win)
    win.show()
    qtbot.waitUntil(lambda: win.workspace.generate_button.isEnabled(), timeout=TIMEOUT_MS)
    dialog = win.servers.serve_dialog()
    assert dialog is not None
    port = free_port()
    dialog.port.setValue(port)
    dialog.parallel.setValue(2)
    dialog.share.setChecked(True)  # other computers: refused without a key
    dialog.key.setText("")
    dialog._accept()
    assert "Other computers may connect only with a key" in dialog.error_label.text()
    dialog.share.setChecked(False)
    dialog._accept()
    servers = win.servers
    qtbot.waitUntil(lambda: "Serving the class at" in servers.serve_label.text(), timeout=60_000)
    assert servers.serve_label.text() == f"Serving the class at http://127.0.0.1:{port}"
    assert servers.strip.isVisible()
    assert ServerClient(f"http://127.0.0.1:{port}").props().total_slots == 2
    servers.stop_button.click()
    assert not servers.strip.isVisible()
    with pytest.raises(ServerError, match="no server answers"):
        ServerClient(f"http://127.0.0.1:{port}").health()
