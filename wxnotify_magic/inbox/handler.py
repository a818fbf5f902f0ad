"""The HTTP server and request handler: read a request within its deadline, let the Inbox answer, write the
reply. Requests the guard refuses are answered before their body is read.
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Protocol, cast

from .guard import refusal
from .reply import Reply, json_reply


class Inbox(Protocol):
    """What the handler needs of the Inbox (server.py), without importing it."""

    host: str
    idle_timeout: float
    request_timeout: float
    max_body: int

    def handle(self, method: str, target: str, content_type: str, raw: bytes) -> Reply: ...


class InboxServer(ThreadingHTTPServer):
    """A threading HTTP server that knows its Inbox and its open connections."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], inbox: Inbox) -> None:
        self.inbox = inbox
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away (timeouts, dropped connections); report anything else."""
        if not isinstance(sys.exc_info()[1], (ConnectionError, TimeoutError)):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down kept-alive connections so no handler answers after stop()."""
        with self._open_lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class DeadlineReader(io.RawIOBase):
    """A socket as a raw stream: reads wait at most `idle` seconds, or until `deadline` when one is set."""

    def __init__(self, sock: socket.socket, idle: float) -> None:
        self.sock, self.idle = sock, idle
        self.deadline: float | None = None  # time.monotonic() by which the current request must be read

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        wait = self.idle if self.deadline is None else self.deadline - time.monotonic()
        if wait <= 0:
            raise TimeoutError("request not received in time")
        self.sock.settimeout(wait)
        return self.sock.recv_into(buffer)


class Handler(BaseHTTPRequestHandler):
    """Reads a request, lets the Inbox answer, writes the reply."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive clients would wait ~40 ms per request otherwise
    wbufsize = 65536
    server_version = "wxnotify-inbox"
    reader: DeadlineReader
    buffered: io.BufferedReader

    @property
    def inbox(self) -> Inbox:
        return cast(InboxServer, self.server).inbox

    def setup(self) -> None:
        super().setup()
        self.reader = DeadlineReader(self.connection, self.inbox.idle_timeout)
        self.rfile = self.buffered = io.BufferedReader(self.reader)

    def handle_one_request(self) -> None:
        """Wait (idle) for the next request, then read all of it within the inbox's request timeout."""
        self.reader.deadline = None
        try:
            if not self.buffered.peek(1):
                self.close_connection = True
                return
        except OSError:  # idle for too long, or the client went away
            self.close_connection = True
            return
        self.reader.deadline = time.monotonic() + self.inbox.request_timeout
        super().handle_one_request()

    def do_GET(self) -> None:
        reply = refusal(self.command, self.headers, self.inbox.host, self.inbox.max_body)
        if reply is None:
            try:
                raw = self._read_body()
            except TimeoutError:
                reply = json_reply({"error": "request body not received in time"}, 408)
                reply.close = True
        if reply is None:
            try:
                reply = self.inbox.handle(self.command, self.path, self.headers.get("Content-Type", ""), raw)
            except Exception as err:  # a bug or a broken request: answer, so it is not taken for a "drop" fault
                reply = json_reply({"error": f"inbox error: {err!r}"}, 500)
        self._write(reply)

    do_POST = do_PUT = do_DELETE = do_GET

    def _read_body(self) -> bytes:
        """The body (Content-Length checked by the guard), read before the request's deadline."""
        length = int(self.headers.get("Content-Length") or 0)
        chunks, left = [], length
        while left > 0:
            chunk = self.buffered.read1(min(left, 65536))
            if not chunk:
                raise TimeoutError("client closed the connection mid-body")
            chunks.append(chunk)
            left -= len(chunk)
        self.reader.deadline = None
        self.connection.settimeout(self.inbox.idle_timeout)  # for writing the reply
        return b"".join(chunks)

    def _write(self, reply: Reply) -> None:
        self.connection.settimeout(self.inbox.idle_timeout)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.body is None:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in {"Content-Type": reply.content_type, **reply.headers}.items():
            self.send_header(name, value)
        if reply.close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log."""
