"""The one HTTP transport: a pooled ``requests.Session``, HTTPS, timeouts, and the API base override.

A request never follows a redirect (it would re-send the token to another origin), never takes longer than
``deadline`` in all (a server trickling its answer cannot hold the sender), and reads at most ``MAX_BODY``
bytes of the answer. The HTTP libraries' log records are redacted.
"""

from __future__ import annotations

import functools
import ipaddress
import os
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
        except (requests.Timeout, urllib3.exceptions.TimeoutError):
            raise TransportError(tr("no answer within {seconds:g} s (timeout)", seconds=self.timeout[1])) from None
        except (requests.RequestException, urllib3.exceptions.HTTPError) as exc:
            raise TransportError(redact(tr("connection failed: {why}", why=_short(exc)), secrets)) from None
        except (ValueError, OSError) as exc:  # a malformed URL or socket trouble below requests
            raise TransportError(redact(tr("request failed: {why}", why=_short(exc)), secrets)) from None
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
            if not chunk:
                return b"".join(chunks), True
            chunks.append(chunk)
            size += len(chunk)
            if time.monotonic() - started > self.deadline:
                raise TransportError(tr("the answer took longer than {seconds:g} s (too slow)",
                                        seconds=self.deadline))
        return b"".join(chunks)[:MAX_BODY], False

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
