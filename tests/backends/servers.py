"""What the server tests share: the key and prompt, and a free port on 127.0.0.1."""

from __future__ import annotations

import socket

KEY = "class-key-7"
PROMPT = "The capital of France is"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
