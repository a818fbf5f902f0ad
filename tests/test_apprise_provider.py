"""Any other apprise URL as a destination: apprise's ``json://`` to a loopback server, through the same outbox,
retries, receipts and redaction as the WeChat providers."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from conftest import assert_no_secret

pytest.importorskip("apprise")

SECRET = "hunter2-json-password"


class _Hook(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        server: Any = self.server
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with server.lock:
            status = server.replies.pop(0) if server.replies else 200
            server.received.append({"path": self.path, "json": json.loads(body or b"{}"), "status": status,
                                    "auth": self.headers.get("Authorization", "")})
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def hook() -> Iterator[Any]:
    server: Any = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    server.daemon_threads = True
    server.lock, server.received, server.replies = threading.Lock(), [], []
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    server.url = f"json://127.0.0.1:{server.server_address[1]}/hook"
    yield server
    server.shutdown()
    server.server_close()


def wait_for(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_send_through_apprise_is_delivered_with_a_receipt(home: Path, hook: Any) -> None:
    import wxnotify_magic as wx

    receipt = wx.send("checkpoint saved", title="train.py", to=hook.url, wait=10)
    assert receipt.ok and receipt.status == "delivered", receipt.line
    assert receipt.line.startswith("wxnotify: sent via JSON (apprise)")  # not "to WeChat"
    [got] = hook.received
    assert got["path"] == "/hook" and "checkpoint saved" in got["json"]["message"]
    assert "train.py" in got["json"]["title"]


def test_cell_failure_goes_through_apprise(ip: Any, hook: Any, capsys: pytest.CaptureFixture[str]) -> None:
    ip.run_cell(f"%%wxnotify --to {hook.url}\nprint('epoch 3')\n1/0")
    wait_for(lambda: hook.received)
    message = hook.received[0]["json"]
    assert "ZeroDivisionError" in message["message"] and "epoch 3" in message["message"]
    assert message["type"] == "failure"


def test_apprise_failures_are_retried_then_delivered_and_secrets_hidden(home: Path, hook: Any) -> None:
    from wxnotify_magic import delivery
    from wxnotify_magic.session import current

    hook.replies = [500]  # apprise says False: the outbox retries, as for any service
    url = hook.url.replace("json://", f"json://user:{SECRET}@")
    session = current()
    ticket = session.send("twice", to=[url])
    sender = delivery.get_sender()
    wait_for(lambda: "apprise could not send it" in (sender.outbox.items(limit=1)[0].reason or ""))
    receipt = session.wait(ticket, 0)
    assert receipt.status == "pending" and "error=500" in receipt.line  # retried after a backoff of about 2 s
    assert_no_secret(receipt.line)
    history = "\n".join(session.history_lines(5))
    assert SECRET not in history and "json://user:****@127.0.0.1" in history  # apprise's own privacy form
    wait_for(lambda: len(hook.received) == 2)
    wait_for(lambda: str(sender.outbox.items(limit=1)[0].status) == "delivered")
    assert hook.received[1]["auth"].startswith("Basic ")
    status = "\n".join(session.status_lines())
    assert SECRET not in status and SECRET not in "\n".join(session.history_lines(5))


def test_a_4xx_answer_is_permanent(home: Path, hook: Any) -> None:
    import wxnotify_magic as wx

    hook.replies = [403]
    receipt = wx.send("no", to=hook.url, wait=10)
    assert receipt.status == "failed" and "error=403" in receipt.reason
    from wxnotify_magic import delivery

    outbox = delivery.get_sender().outbox
    assert str(outbox.items(limit=1)[0].status) == "failed" and outbox.next_due() is None  # not retried
    assert len(hook.received) == 1


def test_unknown_and_malformed_apprise_urls_are_one_clear_line(home: Path) -> None:
    from wxnotify_magic.providers import DestinationError, parse_destination

    with pytest.raises(DestinationError, match="unknown destination type nosuch://"):
        parse_destination("nosuch://abc")
    with pytest.raises(DestinationError, match="apprise does not accept this tgram:// URL") as info:
        parse_destination("tgram://not-a-bot-token-secretvalue")
    assert "secretvalue" not in str(info.value)
