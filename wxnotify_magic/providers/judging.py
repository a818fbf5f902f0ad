"""Judging a service's answer: the transport-level status every provider shares, a JSON body, a business error."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ..i18n import tr
from .base import HttpResponse, Outcome, Verdict


def http_problem(resp: HttpResponse) -> Verdict | None:
    """Judge the transport-level status shared by every provider: 429 and 5xx retry later; 3xx fails."""
    if resp.status == 429 or resp.status >= 500:
        retry_after = retry_after_seconds(resp.header("Retry-After"))
        word = tr("rate limited (HTTP 429)") if resp.status == 429 else tr("server error (HTTP {status})",
                                                                            status=resp.status)
        return Verdict("retry", word, retry_after, limited=resp.status == 429)
    if 300 <= resp.status < 400:
        return Verdict("permanent", tr("the service answered with a redirect (HTTP {status}); not followed",
                                       status=resp.status))
    if resp.status >= 400:
        return Verdict("permanent", f"HTTP {resp.status}")
    return None


MAX_RETRY_AFTER = 3600.0


def retry_after_seconds(value: str | None, now: Callable[[], float] = time.time) -> float | None:
    """``Retry-After`` in seconds (number or HTTP date), capped at an hour; junk counts as absent."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            seconds = parsedate_to_datetime(value).timestamp() - now()
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
    if seconds != seconds or seconds in (float("inf"), float("-inf")):  # nan, inf
        return None
    return min(MAX_RETRY_AFTER, max(0.0, seconds))


def json_body(resp: HttpResponse, label: str) -> tuple[dict[str, Any] | None, Verdict | None]:
    """The JSON object body, or the verdict to return when the answer is not usable."""
    problem = http_problem(resp)
    if problem:
        return None, problem
    body = resp.body()
    if not isinstance(body, dict):
        return None, Verdict("retry", tr("{service} answered with something that is not JSON", service=label),
                             unknown=True)
    return body, None


def refusal(label: str, codes: dict[int, str], code: Any, msg: Any, transient: set[int] | frozenset[int],
            code_name: str = "code", retry_after: float | None = None,
            limited: dict[int, float] | None = None) -> Verdict:
    """A service's business error as one line: its meaning, the code and the service's own words. A code in
    ``limited`` ("you are limited") stops the token's lane for that many seconds (a cool-down)."""
    meaning = tr(codes[code]) if isinstance(code, int) and code in codes else tr("{service} refused the message",
                                                                                  service=label)
    words = str(msg or "")  # not cut here: the receipt redacts first, then shortens
    reason = f"{meaning} ({code_name} {code}{': ' + words if words else ''})"
    if limited and isinstance(code, int) and code in limited:
        return Verdict("retry", reason, limited[code], limited=True)
    outcome: Outcome = "retry" if code in transient else "permanent"
    return Verdict(outcome, reason, retry_after)
