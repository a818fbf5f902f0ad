"""The one HTTP transport: a pooled ``requests.Session``, HTTPS, timeouts, and the API base override."""

from __future__ import annotations

import os
import threading
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from .providers.base import HttpRequest, HttpResponse, scrub

DEFAULT_TIMEOUT = (5.0, 15.0)  # connect, read
USER_AGENT = "wxnotify-magic"


class TransportError(Exception):
    """The request did not get an answer (connection refused, dropped, timed out); safe to show."""


def with_api_base(url: str, api_base: str | None) -> str:
    """Replace scheme://host[:port] of ``url`` with ``api_base``, keeping the path and query."""
    if not api_base:
        return url
    base = urlsplit(api_base.rstrip("/"))
    parts = urlsplit(url)
    return urlunsplit((base.scheme, base.netloc, base.path + parts.path, parts.query, ""))


class Transport:
    """Sends provider requests; thread-safe enough for one sender thread plus the caller."""

    def __init__(self, api_base: str | None = None, timeout: tuple[float, float] = DEFAULT_TIMEOUT) -> None:
        self.api_base = api_base
        self.timeout = timeout
        self._local = threading.local()

    def _session(self) -> Any:
        session = getattr(self._local, "session", None)
        if session is None:
            import requests

            session = requests.Session()
            session.headers["User-Agent"] = USER_AGENT
            self._local.session = session
        return session

    def send(self, request: HttpRequest, secrets: list[str]) -> HttpResponse:
        """Send one request; raise TransportError (with secrets scrubbed) when no answer came."""
        import requests

        api_base = self.api_base if self.api_base is not None else os.environ.get("WXNOTIFY_API_BASE")
        url = with_api_base(request.url, api_base)
        try:
            resp = self._session().request(request.method, url, json=request.json, data=request.data,
                                           headers=request.headers or None, timeout=self.timeout)
        except requests.Timeout:
            raise TransportError(f"no answer within {self.timeout[1]:g} s (timeout)") from None
        except requests.ConnectionError as exc:
            raise TransportError(scrub(f"connection failed: {_short(exc)}", secrets)) from None
        except requests.RequestException as exc:
            raise TransportError(scrub(f"request failed: {_short(exc)}", secrets)) from None
        return HttpResponse(resp.status_code, resp.text, dict(resp.headers))

    def close(self) -> None:
        session = getattr(self._local, "session", None)
        if session is not None:
            session.close()
            self._local.session = None


def _short(exc: Exception) -> str:
    text = str(exc)
    for marker in ("Connection refused", "RemoteDisconnected", "Connection aborted", "Name or service not known",
                   "Max retries exceeded"):
        if marker in text:
            return marker.lower()
    return text[:160]
