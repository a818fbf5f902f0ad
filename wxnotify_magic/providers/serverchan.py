"""ServerChan Turbo (SCT... keys) and ServerChan³ (sctp{n}t... keys)."""

from __future__ import annotations

import re

from ..i18n import tr
from ..message import Format, Notification, render, render_title
from .base import (
    APPRISE_OPTIONS,
    DAY,
    N_,
    Destination,
    Field,
    HttpRequest,
    HttpResponse,
    Limit,
    Provider,
    Verdict,
    format_option,
    json_body,
    refusal,
)

TURBO = "https://sctapi.ftqq.com/{key}.send"
SC3 = "https://{uid}.push.ft07.com/send/{key}.send"
TITLE_LIMIT, SHORT_LIMIT, DESP_LIMIT = 32, 64, 32 * 1024
_SC3_KEY = re.compile(r"^sctp(\d+)t", re.IGNORECASE)


def endpoint(key: str) -> str:
    """``sctp{n}t...`` keys go to the ServerChan³ host of user n, as the official SDK does."""
    m = _SC3_KEY.match(key)
    return SC3.format(uid=m.group(1), key=key) if m else TURBO.format(key=key)


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    fmt: Format = "text" if dest.values.get("format") == "text" else "markdown"  # desp is Markdown; no HTML
    body = {"title": render_title(n, TITLE_LIMIT), "desp": render(n, fmt, DESP_LIMIT, "bytes", with_title=False),
            "short": render_title(n, SHORT_LIMIT), "noip": 1}
    return [HttpRequest("POST", endpoint(dest.values["key"]), json=body)]


def judge(resp: HttpResponse) -> Verdict:
    """Success is body ``code == 0``; HTTP 429 means the daily per-IP limit."""
    if resp.status == 429:
        return Verdict("retry", tr("ServerChan daily limit reached for this IP (HTTP 429)"), 3600.0, limited=True)
    body, problem = json_body(resp, "ServerChan")
    if problem or body is None:
        return problem or Verdict("retry", tr("{service} sent no answer", service="ServerChan"))
    code = body.get("code")
    if code == 0:
        return Verdict("delivered")
    msg = str(body.get("message") or body.get("info") or "")
    if code is None and msg:
        return Verdict("permanent", tr("ServerChan refused: {words} (quota used up or key rejected)", words=msg))
    return refusal("ServerChan", {}, code, msg, frozenset())


SERVERCHAN = Provider(
    name="serverchan", label=N_("ServerChan"), scheme="schan",
    # schan://SENDKEY as in apprise, which however cuts a key at its first "_" or "-" and sends sctp keys to
    # the Turbo host (a temporary forwarder that adds ads); here the whole key counts and sctp goes to its own host
    fields=(Field("key", N_("SendKey"), r"[A-Za-z0-9_-]+",
                  N_("from sct.ftqq.com > SendKey (SCT...), or a ServerChan³ key (sctp...t...)"), secret=True,
                  shape=r"(?:SCT\d+T[A-Za-z0-9_-]{6,}|sctp\d+t[A-Za-z0-9_-]{6,})"),),
    format="markdown", limit=DESP_LIMIT, unit="bytes", title_limit=TITLE_LIMIT,
    build=build, judge=judge,
    limits=(Limit("key", 1, 1.0), Limit("key", 5, DAY, name="serverchan")),  # free tier: about 5 a day
    hint=N_("Sign in at sct.ftqq.com with WeChat and copy your SendKey (SCT...)."),
    hint_url="https://sct.ftqq.com/sendkey",
    url_example="schan://SENDKEY",
    options=(format_option("markdown", "text"), *APPRISE_OPTIONS),
)

PROVIDERS = (SERVERCHAN,)
