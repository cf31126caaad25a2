"""A real llama-server, built from the bindings' own llama.cpp and started on 127.0.0.1
with the default model: its numbers are the local engine's, its tokenizer is the model's,
a wrong key is refused, and `llm-playground serve` starts and stops one."""

from __future__ import annotations

import functools
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fault_proxy import FaultProxy
from servers import KEY, PROMPT, free_port

from app.core.backends.server_answers import ServerAuthError, ServerError
from app.core.backends.server_client import ServerClient
from app.core.backends.server_process import ServeError, ServeOptions, ServerProcess
from app.core.decoding.decoding_settings import DecodingSettings
from app.core.decoding.generation import generate
from app.core.llama.engine import Engine


def test_greedy_tokens_and_probabilities_equal_the_local_engine(
    server: ServerProcess, engine: Engine
) -> None:
    prompt = engine.tokenize_prompt(PROMPT)
    local = generate(engine, prompt, DecodingSettings(mode="greedy", max_tokens=16)).steps
    remote = ServerClient(server.url, KEY).complete(prompt, n_predict=16, n_probs=5)

    assert [t.id for t in remote.tokens] == [s.id for s in local]
    worst = 0.0
    for step, token in zip(local, remote.tokens, strict=True):
        assert token.piece == step.piece
        mine = {t.id: t.p for t in step.top(5, 1.0)}
        theirs = {a.id: math.exp(a.logprob) for a in token.top}
        assert set(theirs) == set(mine)
        worst = max(worst, *(abs(theirs[i] - mine[i]) for i in mine))
        assert math.exp(token.logprob) == pytest.approx(step.p_model, abs=1e-3)
    assert worst < 1e-3, f"top-5 probabilities differ by up to {worst:.2e}"


def test_the_server_tokenizes_as_the_model_does(server: ServerProcess, engine: Engine) -> None:
    client = ServerClient(server.url, KEY)
    text = "Byte pair encoding: ¿Qué tal? 大语言模型 😀\n  indented"
    tokens = client.tokenize(text)
    assert [i for i, _piece in tokens] == engine.vocab.tokenize(text)
    ids = [i for i, _piece in tokens]
    assert client.detokenize(ids[1:]) == text  # without BOS


def test_the_server_reports_its_slots_and_model(server: ServerProcess, model_path: Path) -> None:
    props = ServerClient(server.url, KEY).props()
    assert props.total_slots == 1
    assert Path(props.model_path).name == model_path.name


def test_a_wrong_or_missing_key_is_refused_in_words(server: ServerProcess) -> None:
    for key in ("wrong", None):
        with pytest.raises(ServerAuthError, match=r"refused the key \(401\)"):
            ServerClient(server.url, key).complete([2, 651], n_predict=1, n_probs=1)
    assert KEY not in repr(ServerClient(server.url, KEY))
    # The key travels in the server's environment, not on its command line (which any
    # user of the machine can read) nor into its log.
    assert KEY not in " ".join(server.command)
    assert server.log_path is not None and KEY not in server.log_path.read_text(errors="replace")


def test_nobody_there_is_a_clear_message_at_once() -> None:
    started = time.monotonic()
    with pytest.raises(ServerError, match="no server answers at"):
        ServerClient(f"http://127.0.0.1:{free_port()}").health()
    assert time.monotonic() - started < 5


def test_serve_refuses_to_expose_a_server_without_a_key(model_path: Path) -> None:
    with pytest.raises(ServeError, match="--api-key"):
        ServerProcess(ServeOptions(model_path, host="0.0.0.0", port=free_port()))
    done = subprocess.run(
        [sys.executable, "-m", "app", "serve", "--model", "default", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert "give --api-key too" in done.stderr and "Traceback" not in done.stderr


def test_serve_prints_the_address_and_stops_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    env = {**os.environ, "LLM_PLAYGROUND_DATA_DIR": str(tmp_path)}
    with subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--model", "default", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as serve:
        assert serve.stdout is not None
        line = serve.stdout.readline()
        assert line.strip() == f"serving gemma-3-270m-q4_k_m.gguf at http://127.0.0.1:{port}"
        assert ServerClient(f"http://127.0.0.1:{port}").health()
        serve.send_signal(signal.SIGINT)
        _out, err = serve.communicate(timeout=30)
    assert serve.returncode == 130
    assert "llama-server stopped" in err and "Traceback" not in err
    with pytest.raises(ServerError, match="no server answers"):
        ServerClient(f"http://127.0.0.1:{port}").health()


def test_a_killed_serve_takes_its_llama_server_with_it(tmp_path: Path) -> None:
    """`serve` killed outright (no Ctrl+C to handle) leaves no server holding the port."""
    port = free_port()
    env = {**os.environ, "LLM_PLAYGROUND_DATA_DIR": str(tmp_path)}
    with subprocess.Popen(
        [sys.executable, "-m", "app", "serve", "--model", "default", "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    ) as serve:
        assert serve.stdout is not None
        assert serve.stdout.readline().startswith("serving")
        children = Path(f"/proc/{serve.pid}/task/{serve.pid}/children").read_text().split()
        assert len(children) == 1
        server_pid = int(children[0])
        serve.kill()
        serve.wait(timeout=10)
    deadline = time.monotonic() + 15
    while Path(f"/proc/{server_pid}").exists() and time.monotonic() < deadline:
        state = Path(f"/proc/{server_pid}/stat").read_text().split()[2]
        if state == "Z":  # ended, not yet reaped (its parent is gone: init reaps it)
            break
        time.sleep(0.1)
    else:
        assert not Path(f"/proc/{server_pid}").exists(), "llama-server outlived serve"
    with pytest.raises(ServerError, match="no server answers"):
        ServerClient(f"http://127.0.0.1:{port}").health()


def _cli(*args: str, key: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "LLM_PLAYGROUND_API_KEY"}
    if key is not None:
        env["LLM_PLAYGROUND_API_KEY"] = key
    return subprocess.run(
        [sys.executable, "-m", "app", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )


def test_cli_tokenize_through_the_server_equals_the_local_command(server: ServerProcess) -> None:
    import json

    text = "<b>Hi  there\n\tx 😀"  # starts like the text the server renders for BOS
    remote = _cli("tokenize", "--server", server.url, "--text", text, "--json", key=KEY)
    local = _cli("tokenize", "--model", "default", "--text", text, "--json")
    assert remote.returncode == 0 and local.returncode == 0, remote.stderr + local.stderr
    theirs, mine = json.loads(remote.stdout), json.loads(local.stdout)
    assert theirs["server"] == server.url
    fields = ("id", "start", "end")
    assert [{f: t[f] for f in fields} for t in theirs["tokens"]] == [
        {f: t[f] for f in fields} for t in mine["tokens"]
    ]
    no_bos = _cli("tokenize", "--server", server.url, "--text", "Hi", "--no-bos", key=KEY)
    assert no_bos.stdout.splitlines()[-1] == f"[1 tokens, {server.url}]"


def test_cli_info_through_the_server(server: ServerProcess, model_path: Path) -> None:
    import json

    done = _cli("info", "--server", server.url, "--api-key", KEY, "--json")
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout)
    assert facts["model"] == model_path.name and facts["slots"] == 1


def test_cli_server_failures_are_one_line(server: ServerProcess) -> None:
    wrong = _cli("info", "--server", server.url, key="wrong")
    assert wrong.returncode == 1
    assert wrong.stderr.strip().splitlines() == [
        f"llm-playground: error: {server.url} refused the key (401): check the API key"
    ]
    gone = _cli("tokenize", "--server", f"http://127.0.0.1:{free_port()}", "--text", "x")
    assert gone.returncode == 1 and "no server answers at" in gone.stderr
    both = _cli("info", "--server", server.url, "--model", "default")
    assert both.returncode == 2 and "give --model" in both.stderr


@pytest.fixture
def proxy(server: ServerProcess) -> Iterator[FaultProxy]:
    in_front = FaultProxy(server.url)
    yield in_front
    in_front.close()


def test_a_spoiled_answer_is_a_message_never_a_hang_or_a_crash(
    proxy: FaultProxy, engine: Engine
) -> None:
    """Through the proxy the real server answers as usual; then each fault ends the request
    with words within its time limit, and the next good request works again."""
    prompt = engine.tokenize_prompt(PROMPT)
    client = ServerClient(proxy.url, KEY)
    hasty = ServerClient(proxy.url, KEY, timeout=2.0)  # for the stall alone
    assert len(client.complete(prompt, n_predict=4, n_probs=3).tokens) == 4
    expected = {
        "drop": "connection failed after",
        "stall": "did not answer within 2 s",
        "garbage": "answered something that is not JSON",
        "endless": "sent more than",
        "busy": "busy or still loading its model (503)",
        "redirect": "redirected /completion to 'http://198.51.100.7/completion': refused",
    }
    for mode, words in expected.items():
        proxy.mode = mode
        started = time.monotonic()
        with pytest.raises(ServerError, match=re.escape(words)):
            (hasty if mode == "stall" else client).complete(prompt, n_predict=4, n_probs=3)
        assert time.monotonic() - started < 30, mode
    proxy.mode = "pass"
    assert len(client.complete(prompt, n_predict=4, n_probs=3).tokens) == 4


def test_a_streamed_answer_hands_over_each_token_as_it_comes(
    server: ServerProcess, engine: Engine
) -> None:
    prompt = engine.tokenize_prompt(PROMPT)
    client = ServerClient(server.url, KEY)
    arrived: list[tuple[int, float]] = []
    streamed = client.complete(
        prompt,
        n_predict=12,
        n_probs=5,
        on_token=lambda t: arrived.append((t.id, time.monotonic())),
    )
    whole = client.complete(prompt, n_predict=12, n_probs=5)
    assert [t.id for t in streamed.tokens] == [t.id for t in whole.tokens]
    assert [i for i, _at in arrived] == [t.id for t in whole.tokens]
    assert [a.logprob for a in streamed.tokens[3].top] == [a.logprob for a in whole.tokens[3].top]
    assert streamed.timings["predicted_n"] == 12


def test_a_stream_cut_short_is_named_as_such(proxy: FaultProxy, engine: Engine) -> None:
    client = ServerClient(proxy.url, KEY)
    proxy.mode = "drop"
    with pytest.raises(ServerError, match="ended before the answer did"):
        client.complete(
            engine.tokenize_prompt(PROMPT), n_predict=8, n_probs=3, on_token=lambda _t: None
        )


def test_cli_generate_through_the_server(server: ServerProcess) -> None:
    import json

    common = ("generate", "--prompt", PROMPT, "--max-tokens", "12", "--json")
    remote = _cli(*common, "--server", server.url, key=KEY)
    local = _cli(*common, "--model", "default")
    assert remote.returncode == 0 and local.returncode == 0, remote.stderr + local.stderr
    theirs, mine = json.loads(remote.stdout), json.loads(local.stdout)
    assert [s["id"] for s in theirs["steps"]] == [s["id"] for s in mine["steps"]]
    assert theirs["text"] == mine["text"]
    for step, reference in zip(theirs["steps"], mine["steps"], strict=True):
        assert step["p"] == pytest.approx(reference["p"], abs=1e-3)
        assert step["rank"] == 1  # greedy: the most likely token
    assert "top 5 alternatives" in theirs["approximate"] and "not known" in theirs["approximate"]

    sampled = (*common, "--server", server.url, "--mode", "sample", "--seed", "11")
    first, again = _cli(*sampled, key=KEY), _cli(*sampled, key=KEY)
    assert first.returncode == 0, first.stderr
    ids = [s["id"] for s in json.loads(first.stdout)["steps"]]
    assert ids == [s["id"] for s in json.loads(again.stdout)["steps"]]  # the seed decides

    beam = (*common[:3], "--mode", "beam", "--beam-width", "3", "--max-tokens", "4", "--json")
    remote_beam = _cli(*beam, "--server", server.url, key=KEY)
    local_beam = _cli(*beam, "--model", "default")
    assert remote_beam.returncode == 0, remote_beam.stderr
    theirs, mine = json.loads(remote_beam.stdout), json.loads(local_beam.stdout)
    assert [b["text"] for b in theirs["beams"]] == [b["text"] for b in mine["beams"]]
    for remote_hyp, local_hyp in zip(theirs["beams"], mine["beams"], strict=True):
        assert remote_hyp["logprob"] == pytest.approx(local_hyp["logprob"], abs=2e-3)


@pytest.fixture
def tls_proxy(server: ServerProcess, tmp_path: Path) -> Iterator[tuple[FaultProxy, Path]]:
    """The real server behind https, with a certificate of its own for 127.0.0.1."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subject = ("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1")
    files = ("-keyout", str(key), "-out", str(cert))
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            *subject,
            *files,
        ],
        check=True,
        capture_output=True,
    )
    in_front = FaultProxy(server.url, tls=(str(cert), str(key)))
    yield in_front, cert
    in_front.close()


def test_https_works_and_an_untrusted_certificate_or_a_downgrade_is_refused(
    tls_proxy: tuple[FaultProxy, Path], engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    proxy, cert = tls_proxy
    prompt = engine.tokenize_prompt(PROMPT)
    with pytest.raises(ServerError, match="the secure connection failed"):
        ServerClient(proxy.url, KEY).complete(prompt, n_predict=2, n_probs=2)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # the system would trust it
    secure = ServerClient(proxy.url, KEY)
    assert len(secure.complete(prompt, n_predict=2, n_probs=2).tokens) == 2
    proxy.mode = "redirect"  # to plain http elsewhere: the key must not follow
    with pytest.raises(ServerError, match=r"redirected .* refused"):
        secure.complete(prompt, n_predict=2, n_probs=2)


def test_a_server_that_is_not_a_llama_server_is_named_as_such(tmp_path: Path) -> None:
    """An OpenAI-compatible server or a web server: no /props, an HTML error page."""
    import http.server
    import threading

    from app.core.backends.remote_engine import RemoteEngine

    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(tmp_path))
    with http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler) as web:
        threading.Thread(target=web.serve_forever, daemon=True).start()
        try:
            with pytest.raises(ServerError, match=r"is not a llama-server \(it has no /props\)"):
                RemoteEngine(f"http://127.0.0.1:{web.server_address[1]}")
        finally:
            web.shutdown()
