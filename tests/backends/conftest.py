"""A real llama-server for the backend tests, built from the bindings' own llama.cpp
(`make llama-server`) and started on 127.0.0.1 with the default model."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from servers import KEY, free_port

from app.core.backends.server_process import ServeOptions, ServerProcess


@pytest.fixture(scope="session")
def server(model_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    """One slot, as `serve --parallel 1` runs it, with an API key."""
    log = tmp_path_factory.mktemp("server") / "llama-server.log"
    options = ServeOptions(model_path, port=free_port(), parallel=1, api_key=KEY, n_ctx=1024)
    with ServerProcess(options, log=log) as process:
        process.wait_ready()
        yield process
