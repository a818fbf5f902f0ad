"""The inbox on loopback refuses what a hostile web page or a slow client could do.

DNS rebinding (a foreign Host header), cross-origin writes (an Origin header that is not the inbox's own),
clients trickling a request, and oversized bodies. Raw sockets where requests would not send such a request.
"""

from __future__ import annotations

import select
import socket
import time
from collections.abc import Iterator

import pytest
import requests

from wxnotify_magic.inbox import Inbox

PP_TOKEN = "0123456789abcdef0123456789ABCDEF"
PUSH = {"token": PP_TOKEN, "title": "T", "content": "secret-bearing message"}


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    with Inbox() as box:
        yield box


def _port(inbox: Inbox) -> int:
    return int(inbox.url.rsplit(":", 1)[1])


def _connect(inbox: Inbox) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", _port(inbox)), timeout=10)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return sock


def _read_all(sock: socket.socket) -> bytes:
    """What the server sent until it closed the connection (the socket timeout bounds the wait)."""
    data = b""
    try:
        while chunk := sock.recv(65536):
            data += chunk
    except (ConnectionResetError, TimeoutError):
        pass
    return data


# --- Host header (DNS rebinding) -------------------------------------------------------------------------


@pytest.mark.parametrize("host", ["evil.example", "evil.example:{port}", "127.0.0.1.nip.io:{port}",
                                  "localhost.evil.example", "10.0.0.1:{port}", "127.0.0.1:{port}@evil.example",
                                  "[::1", "localhost:http", ""])
def test_foreign_host_header_is_refused(inbox: Inbox, host: str) -> None:
    requests.post(inbox.url + "/send", json=PUSH, timeout=5)
    response = requests.get(inbox.url + "/_inbox/messages", headers={"Host": host.format(port=_port(inbox))},
                            timeout=5)
    assert response.status_code == 403 and "secret-bearing" not in response.text
    assert response.json()["error"].startswith("Host not allowed")
    page = requests.get(inbox.url + "/", headers={"Host": host.format(port=_port(inbox))}, timeout=5)
    assert page.status_code == 403
    refused = requests.post(inbox.url + "/send", json=PUSH, headers={"Host": host.format(port=_port(inbox))},
                            timeout=5)
    assert refused.status_code == 403 and len(inbox.messages) == 1


def test_missing_host_header_is_refused(inbox: Inbox) -> None:
    with _connect(inbox) as sock:
        sock.sendall(b"GET /_inbox/messages HTTP/1.0\r\n\r\n")
        assert _read_all(sock).startswith(b"HTTP/1.1 403 ")


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}", "[::1]:{port}",
                                  "127.0.0.1", "localhost", "[::1]", "127.1.2.3:{port}"])
def test_loopback_host_names_are_accepted(inbox: Inbox, host: str) -> None:
    response = requests.get(inbox.url + "/_inbox/messages", headers={"Host": host.format(port=_port(inbox))},
                            timeout=5)
    assert response.status_code == 200 and response.json() == []


# --- Origin (cross-origin writes) ------------------------------------------------------------------------


@pytest.mark.parametrize("origin", ["http://evil.example", "null", "http://127.0.0.1:1", "https://{host}",
                                    "http://localhost.evil.example:{port}"])
def test_cross_origin_writes_are_refused(inbox: Inbox, origin: str) -> None:
    headers = {"Origin": origin.format(host=inbox.url.split("//")[1], port=_port(inbox))}
    requests.post(inbox.url + "/send", json=PUSH, timeout=5)
    attempts = [
        requests.post(inbox.url + "/_inbox/faults", json={"kind": "drop"}, headers=headers, timeout=5),
        requests.delete(inbox.url + "/_inbox/messages", headers=headers, timeout=5),
        requests.post(inbox.url + "/send", json=PUSH, headers=headers, timeout=5),
        requests.put(inbox.url + "/send", json=PUSH, headers=headers, timeout=5),
    ]
    assert [r.status_code for r in attempts] == [403] * 4
    assert all(r.json()["error"].startswith("cross-origin request refused") for r in attempts)
    assert inbox.faults == [] and len(inbox.messages) == 1


def test_same_origin_and_origin_less_writes_are_accepted(inbox: Inbox) -> None:
    same = requests.post(inbox.url + "/send", json=PUSH, headers={"Origin": inbox.url}, timeout=5)
    plain = requests.post(inbox.url + "/send", json=PUSH, timeout=5)
    assert same.json()["code"] == plain.json()["code"] == 200
    foreign_read = requests.get(inbox.url + "/_inbox/messages", headers={"Origin": "http://evil.example"},
                                timeout=5)
    assert foreign_read.status_code == 200  # reads are the browser's same-origin policy's job: no CORS header
    assert "Access-Control-Allow-Origin" not in foreign_read.headers
    assert requests.delete(inbox.url + "/_inbox/messages", headers={"Origin": inbox.url}, timeout=5).ok


# --- Slow clients ----------------------------------------------------------------------------------------


def _trickle(inbox: Inbox, head: bytes, give_up_after: float = 20.0) -> bytes:
    """Send `head`, then one byte every 20 ms until the server answers or closes; return what it sent."""
    with _connect(inbox) as sock:
        sock.sendall(head)
        deadline = time.monotonic() + give_up_after
        while time.monotonic() < deadline:
            if select.select([sock], [], [], 0.02)[0]:
                return _read_all(sock)
            try:
                sock.send(b"x")
            except OSError:
                return _read_all(sock)
    return b"(the server was still reading)"


def test_a_trickled_body_times_out(inbox: Inbox) -> None:
    inbox.request_timeout = 0.5
    head = (f"POST /send HTTP/1.1\r\nHost: 127.0.0.1:{_port(inbox)}\r\nContent-Type: text/plain\r\n"
            f"Content-Length: 100000\r\n\r\n").encode()
    answer = _trickle(inbox, head)
    assert answer.startswith(b"HTTP/1.1 408 "), answer[:200]
    assert inbox.messages == []
    assert requests.post(inbox.url + "/send", json=PUSH, timeout=5).json()["code"] == 200  # still serving


def test_trickled_headers_time_out(inbox: Inbox) -> None:
    inbox.request_timeout = 0.5
    answer = _trickle(inbox, f"GET / HTTP/1.1\r\nHost: 127.0.0.1:{_port(inbox)}\r\nX-Slow: ".encode())
    assert answer in (b"", b"HTTP/1.1 408 Request Timeout") or answer.startswith(b"HTTP/1.1 408 "), answer[:200]


# --- Body size -------------------------------------------------------------------------------------------


def test_a_body_over_the_cap_is_refused_without_reading_it(inbox: Inbox) -> None:
    with _connect(inbox) as sock:
        sock.sendall(f"POST /send HTTP/1.1\r\nHost: 127.0.0.1:{_port(inbox)}\r\nContent-Type: application/json\r\n"
                     f"Content-Length: {inbox.max_body + 1}\r\n\r\n{{".encode())
        answer = _read_all(sock)
    assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
    assert inbox.max_body >= 4 * 2 * 1024 * 1024 // 3 + 1024  # a 2 MB image as base64 JSON fits
    assert inbox.messages == []


@pytest.mark.parametrize("length", ["-1", "abc", "1e3"])
def test_a_bad_content_length_is_refused(inbox: Inbox, length: str) -> None:
    with _connect(inbox) as sock:
        sock.sendall(f"POST /send HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {length}\r\n\r\n".encode())
        assert _read_all(sock).startswith(b"HTTP/1.1 400 ")


def test_a_chunked_body_is_refused(inbox: Inbox) -> None:
    response = requests.post(inbox.url + "/send", data=iter([b'{"token": "x"}']), timeout=5)
    assert response.status_code == 411 and inbox.messages == []
