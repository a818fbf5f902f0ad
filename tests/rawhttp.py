"""Tiny loopback HTTP servers for what the inbox does not do: redirects, trickled, junk and huge answers.

``RawServer(reply)`` records every request (path, headers, body) and answers it with ``reply(handler)``,
which writes whatever it likes through the handler's helpers. ``stop()`` also ends trickling answers.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.owner.record(self.path, dict(self.headers), body)
        try:
            self.server.owner.reply(self)
        except (BrokenPipeError, ConnectionResetError):  # the client stopped reading: expected here
            self.close_connection = True

    do_GET = do_POST

    def log_message(self, *args: Any) -> None:
        pass

    @property
    def stopping(self) -> threading.Event:
        return self.server.owner.stopping

    def answer(self, status: int, body: Any = b"", headers: dict[str, str] | None = None) -> None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        self.send_response(status)
        for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)
        self.wfile.flush()

    def stream(self, total: int, chunk: bytes, pause: float = 0.0) -> None:
        """Announce ``total`` bytes and send ``chunk`` after ``chunk`` (waiting ``pause`` between them)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(total))
        self.end_headers()
        sent = 0
        while sent < total and not self.stopping.is_set():
            piece = chunk[: total - sent]
            self.wfile.write(piece)
            self.wfile.flush()
            sent += len(piece)
            if pause and self.stopping.wait(pause):
                break
        self.close_connection = True


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    owner: RawServer


class RawServer:
    """A loopback server answering every request with ``reply``; a context manager."""

    def __init__(self, reply: Callable[[Handler], None]) -> None:
        self.reply = reply
        self.requests: list[dict[str, Any]] = []
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), Handler)
        self.httpd.owner = self
        self._thread = threading.Thread(target=self.httpd.serve_forever, kwargs={"poll_interval": 0.01},
                                        daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def record(self, path: str, headers: dict[str, str], body: bytes) -> None:
        with self._lock:
            self.requests.append({"path": path, "headers": headers, "body": body.decode("utf-8", "replace")})

    def seen(self, part: str) -> int:
        """How many requests had ``part`` in their path."""
        with self._lock:
            return sum(1 for r in self.requests if part in r["path"])

    def __enter__(self) -> RawServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def stop(self) -> None:
        self.stopping.set()
        self.httpd.shutdown()
        self.httpd.server_close()


def dead_port_url() -> str:
    """A loopback URL where nothing listens (connection refused)."""
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def wxpusher_ok(handler: Handler) -> None:
    handler.answer(200, {"code": 1000, "msg": "处理成功", "data": [{"uid": "UID_x", "code": 1000}], "success": True})
