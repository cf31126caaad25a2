"""A Hugging Face Hub stand-in on 127.0.0.1: a real HTTP server the real client talks to.

It implements the endpoints the app and `huggingface_hub` use (`/api/models`,
`/api/models/{repo}` with `?blobs=true`, `/api/whoami-v2`, HEAD/GET
`/{repo}/resolve/{rev}/{file}` with `Range`, `X-Repo-Commit`, `ETag`, `X-Linked-Size`,
`X-Linked-Etag`, `X-Error-Code`), gated repositories, and faults a test can arm: a
connection dropped after N bytes, error replies, a different file's bytes, a slow trickle.
Every request is logged with its headers so a test can check what the client sent.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

VALID_TOKEN = "hf_fakehub_valid_token_0123456789"


@dataclass
class FakeFile:
    """A file in a repository: bytes in memory or a file on disk (large models)."""

    data: bytes | None = None
    disk: Path | None = None
    lfs: bool = True
    _sha256: str | None = None

    @property
    def size(self) -> int:
        return len(self.data) if self.data is not None else self.disk.stat().st_size  # type: ignore[union-attr]

    @property
    def sha256(self) -> str:
        if self._sha256 is None:
            digest = hashlib.sha256()
            for block in self.read(0, self.size):
                digest.update(block)
            self._sha256 = digest.hexdigest()
        return self._sha256

    def read(self, start: int, end: int, chunk: int = 1 << 20) -> Iterator[bytes]:
        """Bytes [start, end)."""
        if self.data is not None:
            for pos in range(start, end, chunk):
                yield self.data[pos : min(end, pos + chunk)]
            return
        assert self.disk is not None
        with self.disk.open("rb") as fh:
            fh.seek(start)
            remaining = end - start
            while remaining > 0:
                block = fh.read(min(chunk, remaining))
                if not block:
                    return
                remaining -= len(block)
                yield block


@dataclass
class FakeRepo:
    repo_id: str
    files: dict[str, FakeFile] = field(default_factory=dict)
    gated: bool = False
    license: str | None = "apache-2.0"
    downloads: int = 0
    likes: int = 0
    last_modified: str = "2026-01-01T00:00:00.000Z"
    commit: str = ""
    tags: list[str] = field(default_factory=lambda: ["gguf"])

    def __post_init__(self) -> None:
        if not self.commit:
            self.commit = hashlib.sha1(self.repo_id.encode()).hexdigest()

    def info(self, blobs: bool) -> dict[str, Any]:
        siblings = []
        for path, f in sorted(self.files.items()):
            entry: dict[str, Any] = {"rfilename": path}
            if blobs:
                entry["size"] = f.size
                entry["blobId"] = hashlib.sha1(path.encode()).hexdigest()
                if f.lfs:
                    entry["lfs"] = {"size": f.size, "sha256": f.sha256, "pointerSize": 134}
            siblings.append(entry)
        return {
            "id": self.repo_id,
            "_id": self.commit[:24],
            "modelId": self.repo_id,
            "author": self.repo_id.split("/")[0],
            "sha": self.commit,
            "lastModified": self.last_modified,
            "private": False,
            "disabled": False,
            "gated": "manual" if self.gated else False,
            "downloads": self.downloads,
            "likes": self.likes,
            "tags": [*self.tags, *([f"license:{self.license}"] if self.license else [])],
            "pipeline_tag": "text-generation",
            "library_name": "gguf",
            "cardData": {"license": self.license} if self.license else {},
            "siblings": siblings,
            "createdAt": "2025-01-01T00:00:00.000Z",
        }


@dataclass
class Fault:
    """What the next GET of a file does instead of behaving."""

    # "drop" (close after `after` bytes), "status", "wrong" (other bytes), "trickle",
    # "stall" (pause `delay` s after `after` bytes), "short" (half the bytes, and a
    # Content-Length that says so), "redirect-loop" (a redirect to itself, every time),
    # "gzip-lie" (Content-Encoding: gzip on bytes that are not), "range-from-zero" (a
    # Range request answered 206 from byte 0)
    kind: str
    after: int = 0
    status: int = 500
    data: bytes = b""
    delay: float = 0.0
    times: int = 1


@dataclass
class RequestRecord:
    method: str
    path: str
    headers: dict[str, str]


class FakeHub:
    """Start with `with FakeHub() as hub:`; `hub.endpoint` is the URL to give the client."""

    def __init__(self) -> None:
        self.repos: dict[str, FakeRepo] = {}
        self.requests: list[RequestRecord] = []
        self.faults: dict[str, list[Fault]] = {}
        self.api_faults: list[int] = []  # statuses for the next /api calls
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # ---- set-up -----------------------------------------------------------------------
    def add_repo(self, repo: FakeRepo) -> FakeRepo:
        self.repos[repo.repo_id] = repo
        return repo

    def arm(self, path: str, fault: Fault) -> None:
        """`path` is "owner/name/file"; faults run in the order armed."""
        with self._lock:
            self.faults.setdefault(path, []).append(fault)

    def take_fault(self, path: str) -> Fault | None:
        with self._lock:
            queue = self.faults.get(path)
            if not queue:
                return None
            fault = queue[0]
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    def gets_of(self, filename: str) -> list[RequestRecord]:
        return [r for r in self.requests if r.method == "GET" and r.path.endswith("/" + filename)]

    @property
    def endpoint(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeHub:
        hub = self

        class Handler(_Handler):
            fake = hub

        self._server = _Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: object, client_address: object) -> None:
        """A connection the fake cut on purpose (a "drop" fault) is not an error."""
        import sys

        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)  # type: ignore[arg-type]


def _iso(value: str) -> float:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()


class _Handler(BaseHTTPRequestHandler):
    fake: FakeHub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    # ---- plumbing ---------------------------------------------------------------------
    def _record(self) -> None:
        with self.fake._lock:
            self.fake.requests.append(
                RequestRecord(self.command, self.path, {k: v for k, v in self.headers.items()})
            )

    def _authorized(self) -> bool:
        return self.headers.get("Authorization", "") == f"Bearer {VALID_TOKEN}"

    def _reply(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        content_type: str = "application/json",
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        if self.command == "HEAD":
            self.send_header("Content-Length", "0" if status >= 400 else str(len(body)))
            self.end_headers()
            return
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, value: Any, headers: dict[str, str] | None = None) -> None:
        self._reply(status, json.dumps(value).encode(), headers)

    def _error(self, status: int, code: str, message: str) -> None:
        headers = {"X-Error-Code": code, "X-Error-Message": message}
        self._json(status, {"error": message}, headers)

    # ---- routes -----------------------------------------------------------------------
    def do_HEAD(self) -> None:
        self._route()

    def do_GET(self) -> None:
        self._route()

    def _route(self) -> None:
        self._record()
        url = urlsplit(self.path)
        path = unquote(url.path)
        query = parse_qs(url.query)
        if path.startswith("/api/"):
            with self.fake._lock:
                status = self.fake.api_faults.pop(0) if self.fake.api_faults else None
            if status is not None:
                self._error(status, "", f"injected {status}")
                return
        if path == "/api/models":
            self._list_models(query)
        elif path == "/api/whoami-v2":
            if self._authorized():
                auth = {"accessToken": {"displayName": "fakehub-read", "role": "read"}}
                self._json(200, {"name": "student", "type": "user", "auth": auth})
            else:
                self._error(401, "", "Invalid credentials in Authorization header")
        elif path.startswith("/api/models/"):
            self._model_info(path.removeprefix("/api/models/"), query)
        elif "/resolve/" in path:
            self._resolve(path)
        else:
            self._error(404, "", "not found")

    def _list_models(self, query: dict[str, list[str]]) -> None:
        search = (query.get("search") or [""])[0].lower()
        sort = (query.get("sort") or ["downloads"])[0]
        limit = int((query.get("limit") or ["1000"])[0])
        repos = [
            r
            for r in self.fake.repos.values()
            if search in r.repo_id.lower() and "gguf" in (query.get("filter") or ["gguf"])
        ]
        key = {
            "downloads": lambda r: r.downloads,
            "likes": lambda r: r.likes,
            "lastModified": lambda r: _iso(r.last_modified),
        }.get(sort, lambda r: r.downloads)
        repos.sort(key=key, reverse=True)
        self._json(200, [r.info(blobs=False) | {"siblings": None} for r in repos[:limit]])

    def _model_info(self, rest: str, query: dict[str, list[str]]) -> None:
        repo_id = "/".join(rest.split("/")[:2])
        repo = self.fake.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return
        blobs = (query.get("blobs") or ["false"])[0].lower() == "true"
        self._json(200, repo.info(blobs))

    def _resolve(self, path: str) -> None:
        parts = path.lstrip("/").split("/")
        repo_id = "/".join(parts[:2])
        filename = "/".join(parts[4:])
        repo = self.fake.repos.get(repo_id)
        if repo is None:
            self._error(404, "RepoNotFound", "Repository not found")
            return
        if repo.gated and not self._authorized():
            self._error(403, "GatedRepo", "Access to model is restricted")
            return
        file = repo.files.get(filename)
        if file is None:
            self._error(404, "EntryNotFound", "Entry not found")
            return
        fault = self.fake.take_fault(f"{repo_id}/{filename}") if self.command == "GET" else None
        if fault is not None and fault.kind == "status":
            self._error(fault.status, "", f"injected {fault.status}")
            return
        if fault is not None and fault.kind == "redirect-loop":
            self._reply(302, b"", {"Location": self.path})
            return
        headers = {
            "X-Repo-Commit": repo.commit,
            "ETag": f'"{file.sha256}"',
            "Accept-Ranges": "bytes",
        }
        if file.lfs:
            headers["X-Linked-Size"] = str(file.size)
            headers["X-Linked-Etag"] = f'"{file.sha256}"'
        size = file.size
        start, end = 0, size
        status = 200
        range_header = self.headers.get("Range")
        if range_header and range_header.startswith("bytes="):
            first, _, last = range_header.removeprefix("bytes=").partition("-")
            start = int(first or 0)
            if fault is not None and fault.kind == "range-from-zero":
                start = 0
            end = min(size, int(last) + 1) if last else size
            if start >= size:
                self._reply(416, b"", {**headers, "Content-Range": f"bytes */{size}"})
                return
            status = 206
            headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
        if fault is not None and fault.kind == "short":  # a Content-Length that lies low
            end = start + (end - start) // 2
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        if fault is not None and fault.kind == "gzip-lie":
            self.send_header("Content-Encoding", "gzip")
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(end - start))
        self.end_headers()
        if self.command == "HEAD":
            return
        self._send_body(file, start, end, fault)

    def _send_body(self, file: FakeFile, start: int, end: int, fault: Fault | None) -> None:
        if fault is not None and fault.kind == "wrong":
            self.wfile.write(fault.data[start:end])
            return
        sent = 0
        try:
            for block in file.read(start, end, chunk=64 << 10):
                if fault is not None and fault.kind == "drop" and sent + len(block) > fault.after:
                    self.wfile.write(block[: fault.after - sent])
                    self.wfile.flush()
                    self.close_connection = True
                    self.connection.shutdown(2)
                    return
                if fault is not None and fault.kind == "stall" and sent >= fault.after:
                    time.sleep(fault.delay)
                    fault = None
                if fault is not None and fault.kind == "trickle":
                    time.sleep(fault.delay)
                self.wfile.write(block)
                sent += len(block)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
