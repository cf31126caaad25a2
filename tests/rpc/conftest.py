"""Two real llama.cpp RPC workers (ggml-rpc-server from the bindings' own source, built by
`make llama-server`) on 127.0.0.1, for the tests of a model spread over them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from rpc_helpers import start_worker


@pytest.fixture(scope="session")
def workers(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    folder = tmp_path_factory.mktemp("rpc")
    first, a = start_worker(folder / "a.log")
    second, b = start_worker(folder / "b.log")
    yield a, b
    for process in (first, second):
        process.terminate()
        process.wait(timeout=10)
