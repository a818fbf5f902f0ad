"""ServerChan Turbo (SCT... keys) and ServerChan³ (sctp{n}t... keys)."""

from __future__ import annotations

import re

from ..message import Notification, render, render_title
from .base import Destination, Field, HttpRequest, HttpResponse, Provider, Verdict, json_body, refusal

TURBO = "https://sctapi.ftqq.com/{key}.send"
SC3 = "https://{uid}.push.ft07.com/send/{key}.send"
TITLE_LIMIT, SHORT_LIMIT, DESP_LIMIT = 32, 64, 32 * 1024
_SC3_KEY = re.compile(r"^sctp(\d+)t", re.IGNORECASE)


def endpoint(key: str) -> str:
    """``sctp{n}t...`` keys go to the ServerChan³ host of user n, as the official SDK does."""
    m = _SC3_KEY.match(key)
    return SC3.format(uid=m.group(1), key=key) if m else TURBO.format(key=key)


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    key = dest.values["key"]
    body = {"title": render_title(n, TITLE_LIMIT), "desp": render(n, "markdown", DESP_LIMIT, "bytes"),
            "short": render_title(n, SHORT_LIMIT), "noip": 1}
    return [HttpRequest("POST", endpoint(key), json=body)]


def judge(resp: HttpResponse) -> Verdict:
    """Success is body ``code == 0``; HTTP 429 means the daily per-IP limit."""
    body, problem = json_body(resp, "ServerChan")
    if problem or body is None:
        if resp.status == 429:
            return Verdict("retry", "ServerChan daily limit reached for this IP (HTTP 429)", 3600.0)
        return problem or Verdict("retry", "ServerChan sent no answer")
    code = body.get("code")
    if code == 0:
        return Verdict("delivered")
    msg = str(body.get("message") or body.get("info") or "")[:100]
    if code is None and msg:
        return Verdict("permanent", f"ServerChan refused: {msg} (quota used up or key rejected)")
    return refusal("ServerChan", {}, code, msg, frozenset())


SERVERCHAN = Provider(
    name="serverchan", label="ServerChan", scheme="schan",
    fields=(Field("key", "SendKey", r"[A-Za-z0-9-]+", "from sct.ftqq.com > SendKey (SCT...), or a "
                  "ServerChan³ key (sctp...t...)", secret=True),),
    format="markdown", limit=DESP_LIMIT, unit="bytes", title_limit=TITLE_LIMIT,
    build=build, judge=judge, rates=((1, 1.0),), daily=5,
    token_hint="Sign in at sct.ftqq.com with WeChat and copy your SendKey (SCT...).",
    url_example="schan://SENDKEY",
)
