"""The one HTTP transport: a pooled ``requests.Session``, HTTPS, timeouts, and the API base override.

A request never follows a redirect (it would re-send the token to another origin), never takes longer than
``deadline`` in all, and reads at most ``MAX_BODY`` bytes of the answer. The HTTP libraries' timeouts are per
socket read, so a server trickling its headers or its body a byte at a time would hold the sender for ever: one
watcher thread (``Deadlines``) shuts the socket of a request down when its deadline passes. The HTTP libraries'
log records are redacted.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import ipaddress
import itertools
import os
import socket
import sys
import threading
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .i18n import tr
from .providers.base import HttpRequest, HttpResponse
from .redact import guard_http_logs, redact

DEFAULT_TIMEOUT = (5.0, 15.0)  # connect, read (between bytes)
DEADLINE = 20.0  # seconds for one whole request
MAX_BODY = 1024 * 1024  # bytes of an answer read (WxPusher answers 2000 recipients in about 450 KB)
USER_AGENT = "wxnotify-magic"
_warned: set[str] = set()


class TransportError(Exception):
    """The request did not get an answer (connection refused, dropped, timed out); safe to show."""


def with_api_base(url: str, api_base: str | None) -> str:
    """Replace scheme://host[:port] of ``url`` with ``api_base``, keeping the path and query."""
    if not api_base:
        return url
    base = urlsplit(api_base.rstrip("/"))
    parts = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))


def is_loopback(host: str) -> bool:
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def warn_clear_text(api_base: str) -> None:
    """Say once that tokens would travel in clear text to a non-loopback plain-http API base."""
    try:
        parts = urlsplit(api_base)
        host = parts.hostname or ""
    except ValueError:
        return
    if parts.scheme == "http" and not is_loopback(host) and api_base not in _warned:
        _warned.add(api_base)
        print(tr("wxnotify: warning: WXNOTIFY_API_BASE is plain http to {host}: tokens travel unencrypted",
                 host=host), file=sys.stderr)


class Deadlines:
    """One thread that shuts down the sockets of requests whose deadline has passed (their blocked read ends).

    Watching a socket is a push on a heap; the thread is woken only when a deadline is nearer than the moment
    it was going to look anyway, so a send costs no thread switch. It ends after a minute with nothing to watch.
    """

    IDLE_LOOK = 5.0  # seconds between looks while nothing is watched
    IDLE_END = 60.0  # the thread ends after this long with nothing to watch

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int]] = []
        self._socks: dict[int, socket.socket] = {}
        self._count = itertools.count()
        self._next_look = 0.0  # when the thread looks next (monotonic); 0 when it does not run
        self.expired = 0  # sockets shut down so far

    def watch(self, sock: socket.socket, when: float) -> int:
        """Shut ``sock`` down at ``when`` (``time.monotonic()``) unless ``forget`` is called first."""
        with self._cond:
            token = next(self._count)
            self._socks[token] = sock
            heapq.heappush(self._heap, (when, token))
            if not self._next_look:
                self._next_look = when
                threading.Thread(target=self._run, name="wxnotify-deadline", daemon=True).start()
            elif when < self._next_look:
                self._cond.notify()
        return token

    def forget(self, token: int) -> None:
        with self._cond:
            self._socks.pop(token, None)

    def _run(self) -> None:
        idle_since = time.monotonic()
        while True:
            with self._cond:
                now = time.monotonic()
                while self._heap and (self._heap[0][0] <= now or self._heap[0][1] not in self._socks):
                    _, token = heapq.heappop(self._heap)
                    sock = self._socks.pop(token, None)
                    if sock is not None:
                        self.expired += 1
                        with contextlib.suppress(OSError):
                            sock.shutdown(socket.SHUT_RDWR)
                if self._heap:
                    idle_since = now
                elif now - idle_since > self.IDLE_END:
                    self._next_look = 0.0
                    return
                self._next_look = self._heap[0][0] if self._heap else now + self.IDLE_LOOK
                self._cond.wait(max(0.0, self._next_look - now))


    def _forked(self) -> None:
        """In a forked child: no watcher thread runs there (the next watch starts one), and nothing is watched."""
        self._cond = threading.Condition()
        self._heap, self._socks, self._next_look = [], {}, 0.0


DEADLINES = Deadlines()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=DEADLINES._forked)
_request = threading.local()  # the deadline of the request this thread is sending, and its watch


def _watch_response(conn: Any) -> None:
    """Before a connection reads its answer's headers: have its socket shut down at the request's deadline."""
    when = getattr(_request, "when", None)
    sock = getattr(conn, "sock", None)
    if when is not None and sock is not None and getattr(_request, "token", None) is None:
        _request.token = DEADLINES.watch(sock, when)


@functools.cache
def _adapter_class() -> Any:
    """A requests adapter whose connections are watched from the headers on (made on first use: requests and
    urllib3 are not imported when the extension loads)."""
    from requests.adapters import HTTPAdapter
    from urllib3.connection import HTTPConnection, HTTPSConnection
    from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

    class Watched(HTTPConnection):
        def getresponse(self) -> Any:
            _watch_response(self)
            return super().getresponse()

    class WatchedTLS(HTTPSConnection):
        def getresponse(self) -> Any:
            _watch_response(self)
            return super().getresponse()

    class Pool(HTTPConnectionPool):
        ConnectionCls = Watched

    class PoolTLS(HTTPSConnectionPool):
        ConnectionCls = WatchedTLS

    pools = {"http": Pool, "https": PoolTLS}

    class Adapter(HTTPAdapter):
        def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
            super().init_poolmanager(*args, **kwargs)
            self.poolmanager.pool_classes_by_scheme = pools

        def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
            manager = super().proxy_manager_for(proxy, **proxy_kwargs)
            if not proxy.lower().startswith("socks"):
                manager.pool_classes_by_scheme = pools
            return manager

    return Adapter


class Transport:
    """Sends provider requests; one ``requests.Session`` per thread."""

    def __init__(self, api_base: str | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT,
                 deadline: float = DEADLINE) -> None:
        self.api_base = api_base
        self.timeout = timeout
        self.deadline = deadline
        self._local = threading.local()
        guard_http_logs()

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            for prefix in ("http://", "https://"):
                session.mount(prefix, _adapter_class()())
            session.headers["User-Agent"] = USER_AGENT
            session.trust_env = False  # the environment's proxies and CA bundle are passed per request, cached
            self._local.session = session
        return session

    def send(self, request: HttpRequest, secrets: list[str]) -> HttpResponse:
        """Send one request; raise TransportError (redacted) when no full answer came in time."""
        import requests
        import urllib3

        api_base = self.api_base if self.api_base is not None else os.environ.get("WXNOTIFY_API_BASE")
        if api_base:
            warn_clear_text(api_base)
        try:
            url = with_api_base(request.url, api_base)
        except ValueError:
            raise TransportError(tr("WXNOTIFY_API_BASE is not a valid URL")) from None
        started = time.monotonic()
        _request.when, _request.token = started + self.deadline, None
        try:
            resp = self._session().request(request.method, url, json=request.json, data=request.data,
                                           headers=request.headers or None, timeout=self.timeout,
                                           allow_redirects=False, stream=True, **from_environment(url))
            complete = False
            try:
                body, complete = self._read(resp, started)
            finally:
                if complete:  # read to its end: the connection goes back to the pool, kept alive for the next
                    resp.raw.release_conn()
                else:
                    resp.close()
        except TransportError:
            raise
        except (requests.Timeout, urllib3.exceptions.TimeoutError):
            if self._late(started):
                raise self._slow() from None
            raise TransportError(tr("no answer within {seconds:g} s (timeout)", seconds=self.timeout[1])) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            if self._late(started):  # the deadline shut the socket down
                raise self._slow() from None
            raise TransportError(redact(tr("connection failed: {why}", why=_short(exc)), secrets)) from None
        except (ValueError, OSError) as exc:  # a malformed URL or socket trouble below requests
            if self._late(started):
                raise self._slow() from None
            raise TransportError(redact(tr("request failed: {why}", why=_short(exc)), secrets)) from None
        finally:
            if _request.token is not None:
                DEADLINES.forget(_request.token)
            _request.when = _request.token = None
        encoding = resp.encoding or "utf-8"
        return HttpResponse(resp.status_code, body.decode(encoding, "replace"), dict(resp.headers))

    def _read(self, resp: Any, started: float) -> tuple[bytes, bool]:
        """At most MAX_BODY bytes, taking what arrives as it arrives, so a trickling server meets the deadline;
        and whether the answer was read to its end."""
        raw = resp.raw
        read1 = getattr(raw, "read1", None)  # urllib3 2: returns as soon as any bytes are there
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_BODY:
            chunk = read1(65536, decode_content=True) if read1 else raw.read(16, decode_content=True)
            if self._late(started):  # an end of the answer may be the deadline's shutdown of the socket
                raise self._slow()
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
        return b"".join(chunks)[:MAX_BODY], False

    def _late(self, started: float) -> bool:
        """True when the request's deadline has passed (whatever error or end of the answer it caused)."""
        return time.monotonic() - started > self.deadline

    def _slow(self) -> TransportError:
        return TransportError(tr("the answer took longer than {seconds:g} s (too slow)", seconds=self.deadline))

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None


# What requests reads from the environment for a request: proxies (and which hosts skip them), the CA bundle
ENVIRONMENT = ("http_proxy", "https_proxy", "all_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY",
               "NO_PROXY", "REQUESTS_CA_BUNDLE", "CURL_CA_BUNDLE")


def from_environment(url: str) -> dict[str, Any]:
    """The proxies and CA bundle the environment gives a request to ``url``, as requests would find them. Asked
    once per origin and environment: requests itself would read the whole environment (and ~/.netrc) for every
    request, a quarter of a loopback send's time."""
    parts = urlsplit(url)
    found = _from_environment(f"{parts.scheme}://{parts.netloc}/", tuple(os.environ.get(k) for k in ENVIRONMENT))
    return {"proxies": dict(found["proxies"]), "verify": found["verify"]}  # requests may change what it is given


@functools.lru_cache(maxsize=64)
def _from_environment(origin: str, _environment: tuple[str | None, ...]) -> dict[str, Any]:
    import requests

    with requests.Session() as session:
        found = session.merge_environment_settings(origin, {}, None, None, None)
    return {"proxies": found["proxies"], "verify": found["verify"]}


def _short(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "RemoteDisconnected", "Connection aborted", "Name or service not known",
                   "Max retries exceeded", "Invalid URL", "No connection adapters"):
        if marker in text:
            return marker.lower()
    return redact(text)[:160]
