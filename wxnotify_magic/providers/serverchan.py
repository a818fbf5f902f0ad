"""ServerChan Turbo (SCT... keys) and ServerChan³ (sctp{n}t... keys)."""

from __future__ import annotations

import itertools
import re
import time
import uuid
from typing import Any

from ..i18n import tr
from ..message import Format, Notification, render, render_title
from .base import (
    APPRISE_OPTIONS,
    DAY,
    N_,
    Destination,
    Example,
    Field,
    HttpRequest,
    HttpResponse,
    Limit,
    Provider,
    Verdict,
    format_option,
)
from .emulation import GET_POST, JSON, Reject, Request, Service
from .emulation import check_len as _check_len
from .emulation import text as _text
from .judging import json_body, refusal

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
                  shape=r"(?:SCT\d+T[A-Za-z0-9_-]{6,}|sctp\d+t[A-Za-z0-9_-]{6,})", lead=("SCT", "sctp")),),
    format="markdown", limit=DESP_LIMIT, unit="bytes", title_limit=TITLE_LIMIT,
    build=build, judge=judge,
    limits=(Limit("key", 1, 1.0), Limit("key", 5, DAY, name="serverchan")),  # free tier: about 5 a day
    hint=N_("Sign in at sct.ftqq.com with WeChat and copy your SendKey (SCT...)."),
    hint_url="https://sct.ftqq.com/sendkey",
    url_example="schan://SENDKEY",
    options=(format_option("markdown", "text"), *APPRISE_OPTIONS),
    wechat=True, secret_query=("sendkey",), secret_path=r"/([A-Za-z0-9_-]{6,})\.send\b",
    example=Example("schan://SCT1234TtestkeyABCDEF123", ("SCT1234TtestkeyABCDEF123",), 40001),
)

PROVIDERS = (SERVERCHAN,)


# ------------------------------------------------------------------------------------------ the local inbox
# How the inbox answers like the service (written from its documentation, apart from build and judge above).

_serials = itertools.count(int(time.time()) % 1_000_000 * 1000)


def _sc_check(fields: dict[str, Any], title_max: int, title_required: bool) -> None:
    """Validate title (or its alias text), desp and short."""
    title = _text(fields.get("title") or fields.get("text"))
    if title_required and not title:
        raise Reject(40002, "title is required")
    _check_len(title, title_max, 40002, f"title too long (max {title_max})")
    if len(_text(fields.get("desp")).encode()) > 32 * 1024:
        raise Reject(40002, "desp too long (max 32KB)")
    _check_len(_text(fields.get("short")), 64, 40002, "short too long (max 64)")


def _serverchan(req: Request) -> JSON:
    """GET/POST /{SENDKEY}.send."""
    key = _text(req.groups[0])
    if not key or "bad" in key.lower():
        raise Reject(40001, "bad pushkey")
    _sc_check(req.fields, 32, title_required=True)
    readkey = uuid.uuid4().hex[:14]
    return {"code": 0, "message": "", "data": {"pushid": str(next(_serials)), "readkey": readkey,
                                              "error": "SUCCESS", "errno": 0}}


def _serverchan_error(code: int, msg: str) -> JSON:
    return {"code": code, "message": msg, "data": None}


def _sc3(req: Request) -> JSON:
    """GET/POST /send/{sendkey}.send."""
    key = _text(req.groups[0])
    if not re.match(r"sctp(\d+)t", key) or "bad" in key.lower():
        raise Reject(40001, "bad sendkey")
    fields = req.fields
    _sc_check(fields, 1000, title_required=not fields.get("desp"))
    return {"code": 0, "message": "SUCCESS", "errno": 0, "data": {"pushid": str(next(_serials)), "meta": {}}}


def _sc3_error(code: int, msg: str) -> JSON:
    return {"code": code, "message": msg, "errno": code, "data": None}


def _sc_text(req: Request) -> tuple[str, str]:
    fields = req.fields
    return _text(fields.get("title") or fields.get("text")), _text(fields.get("desp"))


def _sc_format(req: Request) -> str:
    """desp is Markdown."""
    return "markdown"


_SC_MESSAGES = {40001: "bad pushkey", 40002: "bad params"}
INBOX = (
    Service("serverchan", re.compile(r"/([^/]*)\.send"), GET_POST, _serverchan, _serverchan_error, _sc_text,
            _sc_format, 40001, _SC_MESSAGES),
    Service("sc3", re.compile(r"/send/([^/]*)\.send"), GET_POST, _sc3, _sc3_error, _sc_text,
            _sc_format, 40001, _SC_MESSAGES),
)


# ------------------------------------------------------------------------------------------ its Chinese
# This service's own entries of the language table (i18n.py adds them when the provider registers).
ZH = {
    "ServerChan": "Server酱",
    "SendKey": "SendKey",
    "from sct.ftqq.com > SendKey (SCT...), or a ServerChan³ key (sctp...t...)":
        "在 sct.ftqq.com 的 SendKey 页面复制（SCT...），或用 Server酱³ 的 SendKey（sctp...t...）",
    "Sign in at sct.ftqq.com with WeChat and copy your SendKey (SCT...).":
        "用微信登录 sct.ftqq.com，复制你的 SendKey（SCT...）。",
    "ServerChan daily limit reached for this IP (HTTP 429)": "这个 IP 今天在 Server酱的额度已用完（HTTP 429）",
    "ServerChan refused: {words} (quota used up or key rejected)": "Server酱拒收：{words}（额度已用完或 SendKey 无效）",
}
