"""The HTTP server and request handler: read a request, let the Inbox answer, write the reply."""

from __future__ import annotations

import contextlib
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any, cast

from .reply import json_reply

if TYPE_CHECKING:
    from .server import Inbox


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
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down kept-alive connections so no handler answers after stop()."""
        with self._open_lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class Handler(BaseHTTPRequestHandler):
    """Reads a request, lets the Inbox answer, writes the reply."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive clients would wait ~40 ms per request otherwise
    wbufsize = 65536
    server_version = "wxnotify-inbox"

    def do_GET(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            content_type = self.headers.get("Content-Type", "")
            reply = cast(InboxServer, self.server).inbox.handle(self.command, self.path, content_type, raw)
        except Exception as err:  # a bug or a broken request: answer, so it is not mistaken for a "drop" fault
            reply = json_reply({"error": f"inbox error: {err!r}"}, 500)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.body is None:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in {"Content-Type": reply.content_type, **reply.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log."""
