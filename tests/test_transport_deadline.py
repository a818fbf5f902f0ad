"""One request takes at most its deadline in all, headers included: a server trickling its status line and
headers one byte at a time (each byte well within the read timeout) holds neither the request, nor its lane,
nor its item. The server is a raw loopback socket: no HTTP library would answer this way."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from conftest import WECOM_KEY, wait_until

from wxnotify_magic.message import Notification
from wxnotify_magic.providers import parse_destination

WECOM = f"wecombot://{WECOM_KEY}"
TRICKLE_FOR = 20.0  # seconds the server trickles before it gives up (a client without a deadline waits this long)


class HeaderTrickler:
    """Answers every request with a status line and one endless header, a byte every 0.2 s; records, for each
    connection, whether the client cut it before the server gave up."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.cut: list[bool] = []
        self.stopping = threading.Event()
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while not self.stopping.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._trickle, args=(conn,), daemon=True).start()

    def _trickle(self, conn: socket.socket) -> None:
        with conn:
            conn.settimeout(5)
            seen = b""
            with contextlib.suppress(OSError):
                while b"\r\n\r\n" not in seen:
                    seen += conn.recv(65536) or b"\r\n\r\n"
            answer = b"HTTP/1.1 200 OK\r\nX-Slow: " + b"a" * 10_000
            ends = time.monotonic() + TRICKLE_FOR
            for byte in answer:
                if time.monotonic() > ends or self.stopping.wait(0.2):
                    self.cut.append(False)
                    return
                try:
                    conn.sendall(bytes([byte]))
                except OSError:  # the client shut the connection: its deadline
                    self.cut.append(True)
                    return

    def close(self) -> None:
        self.stopping.set()
        self.sock.close()


@pytest.fixture
def trickler() -> Iterator[HeaderTrickler]:
    server = HeaderTrickler()
    yield server
    server.close()


def wecom_request() -> tuple[Any, list[str]]:
    dest = parse_destination(WECOM)
    return dest.provider.build(Notification(status="success", title="job"), dest)[0], dest.secrets


def test_trickled_headers_end_at_the_deadline(home, trickler):
    from wxnotify_magic.transport import Transport, TransportError

    request, secrets = wecom_request()
    with pytest.raises(TransportError, match=r"longer than 1\.5 s"):
        Transport(api_base=trickler.url, deadline=1.5).send(request, secrets)
    assert wait_until(lambda: trickler.cut, timeout=10) == [True]  # the connection was cut, not left open


def test_trickled_headers_free_the_item_and_its_lane(home, trickler, monkeypatch):
    from wxnotify_magic import delivery, send
    from wxnotify_magic.transport import Transport

    monkeypatch.setenv("WXNOTIFY_API_BASE", trickler.url)
    delivery.get_sender()._transport = Transport(deadline=1.5)
    send("slow headers", to=WECOM, wait=0)

    def retried() -> Any:
        (item,) = delivery.get_sender().outbox.items()
        return item if item.status == "pending" and item.attempts >= 1 else None

    item = wait_until(retried, timeout=TRICKLE_FOR / 2, what="the item to be given back for a retry")
    assert item.reason == "the answer took longer than 1.5 s (too slow)"
