"""The local inbox: an HTTP emulator of the push services' send APIs.

It answers each provider's API path as the real service does (``services``), records every request, injects
faults on demand (``faults``) and serves a page that shows what arrived like a phone's message list.
This module holds the ``Inbox`` (its state and public API) and the routing of one request.
"""

from __future__ import annotations

import copy
import itertools
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import store as kept
from .faults import Fault, fault_reply, make_fault
from .guard import MAX_BODY
from .handler import InboxServer
from .page import feed, page
from .record import format_record, parse_body
from .reply import Reply, json_reply
from .services import JSON, SERVICES, Request, Service


class Inbox:
    """A local emulator of the push services, serving in a background thread.

    >>> with Inbox() as inbox:  # doctest: +SKIP
    ...     os.environ["WXNOTIFY_API_BASE"] = inbox.url
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, quiet: bool = True, lang: str | None = None,
                 store: str | Path | None = None) -> None:
        self.host, self.port, self.quiet = host, port, quiet
        self.store = Path(store) if store is not None else None  # a file that keeps the messages across runs
        self.lang = lang  # of the page and the printed lines: "zh", "en", "auto"; None: the process's choice
        self.request_timeout = 10.0  # seconds to receive a whole request once it starts (slow uploads)
        self.idle_timeout = 60.0  # seconds a kept-alive connection may wait for its next request
        self.max_body = MAX_BODY  # bytes
        self._cond = threading.Condition()
        self._messages: list[JSON] = kept.load(self.store) if self.store is not None else []
        self._faults: list[Fault] = []
        self._ids = itertools.count(max((m["id"] for m in self._messages), default=0) + 1)
        self._server: InboxServer | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Inbox:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is None:
            self._server = InboxServer((self.host, self.port), self)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                            name="wxnotify-inbox", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and the socket."""
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> Inbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8787 (the value for WXNOTIFY_API_BASE)."""
        if self._server is None:
            raise RuntimeError("the inbox is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # messages and faults

    @property
    def messages(self) -> list[JSON]:
        """A copy of every recorded request, oldest first."""
        with self._cond:
            return copy.deepcopy(self._messages)

    def clear(self) -> None:
        """Forget recorded messages and pending faults."""
        with self._cond:
            self._messages.clear()
            self._faults.clear()
            if self.store is not None:
                kept.clear(self.store)

    def wait_for(self, n: int, timeout: float = 5.0) -> list[JSON]:
        """Wait until at least n messages are recorded and return them all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= n, timeout):
                got = len(self._messages)
                raise TimeoutError(f"expected {n} message(s) within {timeout} s, {got} arrived")
            return copy.deepcopy(self._messages)

    def add_fault(self, kind: str, service: str | None = None, count: int = 1, **params: Any) -> None:
        """Queue a fault for the next `count` requests to `service` (None: any service).

        Kinds and params: delay(seconds), status(status, retry_after, body), drop(), malformed(body),
        code(code, msg). Faults are consumed first in, first out.
        """
        fault = make_fault(kind, service, count, **params)
        with self._cond:
            self._faults.append(fault)

    @property
    def faults(self) -> list[JSON]:
        """The pending faults, in the order they will be consumed."""
        with self._cond:
            return [f.as_dict() for f in self._faults]

    def _take_fault(self, service: str) -> Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.service in (None, service):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # handling

    def handle(self, method: str, target: str, content_type: str, raw: bytes) -> Reply:
        """Answer one HTTP request (what the handler thread calls)."""
        split = urlsplit(target)
        path, query = split.path, dict(parse_qsl(split.query, keep_blank_values=True))
        body = parse_body(raw, content_type)
        if path == "/" and method == "GET":
            return page(self.messages, self.lang)
        control = _CONTROL.get((method, path.rstrip("/")))
        if control is not None:
            return control(self, query, body)
        for service in SERVICES:
            match = service.path.fullmatch(path)
            if match and method in service.methods:
                return self._serve(service, Request(method, path, query, body, match.groups()))
        return json_reply({"error": "not found", "method": method, "path": path}, 404)

    def _serve(self, service: Service, req: Request) -> Reply:
        received = time.time()
        fault = self._take_fault(service.name)
        if fault is None or fault.kind == "delay":
            response, accepted = service.respond(req)
            reply = json_reply(response)
            reply.delay = fault.params["seconds"] if fault else 0.0
        else:
            reply, response = fault_reply(service, fault)
            accepted = False
        self._record(service, req, received, accepted, response, fault)
        return reply

    def _record(self, service: Service, req: Request, received: float, accepted: bool, response: Any,
                fault: Fault | None) -> None:
        title, content = service.text(req)
        with self._cond:
            record = {"id": next(self._ids), "service": service.name, "time": received, "method": req.method,
                      "path": req.path, "query": req.query, "body": req.body, "title": title, "content": content,
                      "format": service.format(req), "accepted": accepted, "response": response,
                      "fault": fault.kind if fault else None}
            self._messages.append(record)
            if self.store is not None:
                kept.append(self.store, record)
            self._cond.notify_all()
        if not self.quiet:
            print(format_record(record, self.lang), flush=True)

    def _feed_json(self, query: dict[str, str], body: Any) -> Reply:
        after = query.get("after", "0")
        return json_reply(feed(self.messages, int(after) if after.isdigit() else 0, self.lang))

    def _add_fault_json(self, query: dict[str, str], body: Any) -> Reply:
        if not isinstance(body, dict) or "kind" not in body:
            error = "expected a JSON object {kind, service?, count?, ...} sent as Content-Type: application/json"
            return json_reply({"ok": False, "error": error}, 400)
        try:
            self.add_fault(**body)
        except (TypeError, ValueError) as err:
            return json_reply({"ok": False, "error": str(err)}, 400)
        return json_reply({"ok": True, "faults": self.faults})

    def _clear_json(self, query: dict[str, str], body: Any) -> Reply:
        self.clear()
        return json_reply({"ok": True})


_CONTROL: dict[tuple[str, str], Callable[[Inbox, dict[str, str], Any], Reply]] = {
    ("GET", "/_inbox/health"): lambda inbox, query, body: json_reply({"ok": True}),
    ("GET", "/_inbox/messages"): lambda inbox, query, body: json_reply(inbox.messages),
    ("DELETE", "/_inbox/messages"): Inbox._clear_json,
    ("GET", "/_inbox/feed"): Inbox._feed_json,
    ("GET", "/_inbox/faults"): lambda inbox, query, body: json_reply(inbox.faults),
    ("POST", "/_inbox/faults"): Inbox._add_fault_json,
}
