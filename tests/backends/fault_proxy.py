"""A TCP proxy in front of a real llama-server that can spoil its answers: drop the
connection half-way through the body, stall, answer garbage, an endless body, 503, or a
redirect to another address."""

from __future__ import annotations

import http.client
import socket
import socketserver
import ssl
import threading
import time
from urllib.parse import urlsplit


class FaultProxy:
    def __init__(self, target: str, tls: tuple[str, str] | None = None) -> None:
        """`tls`: (certificate, key) files to answer https with."""
        parts = urlsplit(target)
        self.target_host = parts.hostname or "127.0.0.1"
        self.target_port = parts.port or 80
        self.mode = "pass"
        self.stop_event = threading.Event()
        proxy = self

        context: ssl.SSLContext | None = None
        if tls is not None:
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*tls)

        class Handler(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                conn = self.request
                if context is not None:
                    try:
                        conn = context.wrap_socket(conn, server_side=True)
                    except (ssl.SSLError, OSError):
                        return  # a client that does not trust the certificate
                try:
                    proxy.serve(conn)
                finally:
                    if conn is not self.request:
                        conn.close()

        self._server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        scheme = "https" if tls is not None else "http"
        self.url = f"{scheme}://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self.stop_event.set()
        self._server.shutdown()
        self._server.server_close()

    def _read_request(self, conn: socket.socket) -> tuple[str, str, dict[str, str], bytes]:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                raise ConnectionError("the client went away")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        method, path, _version = lines[0].split(" ", 2)
        headers = dict(line.split(": ", 1) for line in lines[1:] if ": " in line)
        length = int(headers.get("Content-Length", "0"))
        while len(body) < length:
            body += conn.recv(65536)
        return method, path, headers, body

    def serve(self, conn: socket.socket) -> None:
        try:
            method, path, headers, body = self._read_request(conn)
        except (ConnectionError, OSError, ValueError):
            return
        mode = self.mode
        if mode == "stall":
            self.stop_event.wait(30)
            return
        if mode == "garbage":
            payload = b"<html><body>Bad gateway, try later</body></html>"
            conn.sendall(_response(200, payload, "text/html"))
            return
        if mode == "redirect":
            conn.sendall(
                b"HTTP/1.1 307 Temporary Redirect\r\nLocation: http://198.51.100.7/completion"
                b"\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            )
            return
        if mode == "busy":
            payload = b'{"error":{"code":503,"message":"no free slot","type":"unavailable_error"}}'
            conn.sendall(_response(503, payload))
            return
        if mode == "endless":
            conn.sendall(
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                b"Content-Length: 1000000000000\r\n\r\n"
            )
            filler = b'{"x": "' + b"a" * 65536
            try:
                while not self.stop_event.is_set():
                    conn.sendall(filler)
            except OSError:
                return
            return
        upstream = http.client.HTTPConnection(self.target_host, self.target_port, timeout=120)
        forwarded = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
        upstream.request(method, path, body=body or None, headers=forwarded)
        answer = upstream.getresponse()
        payload = answer.read()
        upstream.close()
        if mode == "drop":
            whole = _response(answer.status, payload)
            conn.sendall(whole[: len(whole) - len(payload) // 2])
            time.sleep(0.05)
            conn.shutdown(socket.SHUT_RDWR)
            return
        conn.sendall(_response(answer.status, payload))


def _response(status: int, payload: bytes, kind: str = "application/json") -> bytes:
    reason = http.client.responses.get(status, "")
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {kind}\r\n"
        f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n"
    ).encode() + payload
