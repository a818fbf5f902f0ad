"""DingTalk (钉钉) custom group robot.

The URL forms are apprise's: ``dingtalk://TOKEN``, ``dingtalk://SECRET@TOKEN`` (the robot signs its messages),
``dingtalk://TOKEN/13800001111`` or ``?to=`` (mobile numbers to @), ``?token=``, ``?secret=``,
``?format=text|markdown``; and the robot's own webhook URL
``https://oapi.dingtalk.com/robot/send?access_token=TOKEN`` pastes as it is.
Facts and their sources: docs/providers.md.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from dataclasses import replace
from typing import Any
from urllib.parse import quote, urlsplit

from ..i18n import tr
from ..message import Notification, render, render_title
from .base import (
    APPRISE_OPTIONS,
    N_,
    Destination,
    DestinationError,
    Example,
    Field,
    HttpRequest,
    HttpResponse,
    Limit,
    Provider,
    Verdict,
    format_option,
)
from .emulation import JSON, POST, Reject, Request, Service
from .emulation import text as _text
from .judging import json_body, refusal

ENDPOINT = "https://oapi.dingtalk.com/robot/send"
HOST = "oapi.dingtalk.com"
BODY_LIMIT = 20000  # bytes of the request body (errcode 460101 beyond)
# The body travels as ASCII JSON, where a Chinese character takes 6 bytes (3 in UTF-8): 9000 UTF-8 bytes of
# content stay within 20000 bytes of body whatever the script.
CONTENT_LIMIT = 9000
TITLE_LIMIT = 64  # markdown.title is the preview in the chat list; its limit is not documented
PER_MINUTE, RESTRICTED = 20, 600.0  # over 20 a minute the robot is restricted for 10 minutes
MOBILE = r"\+?[0-9]{11,14}"
CODES = {
    300001: N_("DingTalk does not know this robot's access token"),
    310000: N_("DingTalk refused the robot's security settings (signature, keyword or IP allow-list)"),
    130101: N_("DingTalk rate limit hit (20 messages a minute per robot, then restricted for 10 minutes)"),
    460101: N_("DingTalk says the message is too large (at most 20000 bytes)"),
    400402: N_("DingTalk says a field of the message is missing or malformed"),
}
TRANSIENT = {130101, -1}


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    """One ``markdown`` message (title + text), or ``text`` with ``format=text``; mobiles are @-mentioned
    (DingTalk highlights an @ only when the number is also written in the content)."""
    mobiles = list(dict.fromkeys(dest.values["mobiles"]))
    ats = " ".join("@" + m for m in mobiles)
    room = CONTENT_LIMIT - len(ats) - 2
    at = {"at": {"atMobiles": mobiles, "isAtAll": False}} if mobiles else {}
    if dest.values.get("format") == "text":
        content = render(n, "text", room, "bytes") + (f"\n{ats}" if ats else "")
        body: dict[str, Any] = {"msgtype": "text", "text": {"content": content}, **at}
    else:
        text = render(n, "markdown", room, "bytes") + (f"\n\n{ats}" if ats else "")
        body = {"msgtype": "markdown", "markdown": {"title": render_title(n, TITLE_LIMIT), "text": text}, **at}
    return [HttpRequest("POST", f"{ENDPOINT}?access_token={dest.values['token']}", json=body)]


def signature(secret: str, timestamp: str) -> str:
    """``base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}"))``, DingTalk's robot signature."""
    mac = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(mac).decode()


def sign(request: HttpRequest, dest: Destination, now: float) -> HttpRequest:
    """With a signing secret: ``&timestamp=`` (milliseconds) and ``&sign=`` (URL-encoded) on the URL."""
    secret = dest.values.get("secret")
    if not secret:
        return request
    timestamp = str(round(now * 1000))
    signed = quote(signature(secret, timestamp), safe="")
    return replace(request, url=f"{request.url}&timestamp={timestamp}&sign={signed}")


def judge(resp: HttpResponse) -> Verdict:
    """Success is ``errcode == 0``; 130101 (too fast) waits out the 10-minute restriction."""
    body, problem = json_body(resp, "DingTalk")
    if problem or body is None:
        return problem or Verdict("retry", tr("{service} sent no answer", service="DingTalk"))
    code = body.get("errcode")
    if code == 0:
        return Verdict("delivered")
    msg = str(body.get("errmsg") or "").split(", more:")[0]  # drop the link to the docs
    return refusal("DingTalk", CODES, code, msg, TRANSIENT, "errcode", RESTRICTED if code == 130101 else None)


def is_webhook(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and (parts.hostname or "").lower() == HOST


def from_webhook(url: str) -> str:
    """``https://oapi.dingtalk.com/robot/send?access_token=TOKEN`` becomes ``dingtalk://?access_token=TOKEN``
    (a signature already on it, made for another moment, is dropped: it is made again at each send)."""
    parts = urlsplit(url.strip())
    if parts.path.rstrip("/") != "/robot/send":
        raise DestinationError(tr("{label}: not a robot webhook URL (expected https://oapi.dingtalk.com/robot/send?"
                                  "access_token=…)", label=tr(DINGTALK.label)))
    query = "&".join(p for p in parts.query.split("&") if p.split("=")[0] not in ("timestamp", "sign"))
    return f"dingtalk://?{query}"


DINGTALK = Provider(
    name="dingtalk", label=N_("DingTalk group robot"), scheme="dingtalk",
    fields=(Field("token", N_("Access token"), r"[A-Za-z0-9]+",
                  N_("the access_token=... part of the robot's webhook URL"), secret=True,
                  query=("token", "access_token")),
            Field("secret", N_("Signing secret"), r"[A-Za-z0-9]+",
                  N_("SEC..., when the robot's security setting is a signature (optional)"), secret=True,
                  required=False, shape=r"SEC[0-9a-f]{64}", query=("secret",), in_path=False, lead=("SEC",)),
            Field("mobiles", N_("Mobile to @"), MOBILE, N_("mobile numbers of group members to @ (optional)"),
                  many=True, required=False, query=("to",))),
    format="markdown", limit=CONTENT_LIMIT, unit="bytes", title_limit=TITLE_LIMIT,
    build=build, judge=judge, sign=sign, limits=(Limit("token", PER_MINUTE, 60.0),),
    hint=N_("In a DingTalk group: Settings > Bots > Add Robot > Custom; copy the webhook URL, and the SEC... secret "
            "if you chose signing."),
    hint_url="https://open.dingtalk.com/document/robots/custom-robot-access",
    url_example="dingtalk://SECRET@TOKEN",
    claims=lambda url: url.lower().startswith("dingtalk://") or is_webhook(url), native=from_webhook,
    options=(format_option("markdown", "text"), *APPRISE_OPTIONS), userinfo="secret",
    example=Example("dingtalk://SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef@test0dingtalk0token0123",
                    ("SEC0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", "test0dingtalk0token0123"),
                    300001),
)

PROVIDERS = (DINGTALK,)


# ------------------------------------------------------------------------------------------ the local inbox
# How the inbox answers like DingTalk (from its documentation and answers users report; see docs/providers.md).

_MORE = ", more: [https://ding-doc.dingtalk.com/doc#/serverapi2/qf2nxq]"


def _missing(name: str) -> Reject:
    return Reject(400402, f"错误描述:参数 {name} 缺失，或者参数格式不正确; 解决方案:请填充上对应参数;")


def _check_signature(query: dict[str, str]) -> None:
    """A signed request carries a millisecond timestamp within an hour and a base64 HMAC-SHA256."""
    if "timestamp" not in query and "sign" not in query:
        return
    stamp = query.get("timestamp", "")
    if not stamp.isdigit() or abs(int(stamp) / 1000 - time.time()) > 3600:
        raise Reject(310000, "invalid timestamp" + _MORE)
    try:
        ok = len(base64.b64decode(query.get("sign", ""), validate=True)) == 32
    except ValueError:
        ok = False
    if not ok:
        raise Reject(310000, "sign not match" + _MORE)


def _dingtalk(req: Request) -> JSON:
    """POST /robot/send?access_token=TOKEN[&timestamp=&sign=]."""
    token = req.query.get("access_token", "")
    if not token or "bad" in token.lower():
        raise Reject(300001, "token is not exist")
    _check_signature(req.query)
    body = req.body if isinstance(req.body, dict) else {}
    if len(json.dumps(req.body).encode()) > BODY_LIMIT:
        raise Reject(460101, "description: body 大小不合法;solution:请保持大小在 20000bytes 以内;")
    msgtype = _text(body.get("msgtype"))
    found = body.get(msgtype)
    part: dict[str, Any] = found if isinstance(found, dict) else {}
    if msgtype == "text" and not _text(part.get("content")):
        raise _missing("text --》 content")
    if msgtype == "markdown":
        for name in ("title", "text"):
            if not _text(part.get(name)):
                raise _missing(f"markdown --》 {name}")
    if msgtype not in ("text", "markdown", "link", "actionCard", "feedCard"):
        raise _missing("msgtype")
    return {"errcode": 0, "errmsg": "ok"}


def _error(code: int, msg: str) -> JSON:
    return {"errcode": code, "errmsg": msg}


def _dingtalk_text(req: Request) -> tuple[str, str]:
    body = req.body if isinstance(req.body, dict) else {}
    part = body.get(_text(body.get("msgtype")))
    if not isinstance(part, dict):
        return "", _text(part)
    return _text(part.get("title")), _text(part.get("content") or part.get("text"))


def _dingtalk_format(req: Request) -> str:
    body = req.body if isinstance(req.body, dict) else {}
    return {"text": "text", "markdown": "markdown"}.get(_text(body.get("msgtype")), "json")


INBOX = (
    Service("dingtalk", re.compile(r"/robot/send/?"), POST, _dingtalk, _error, _dingtalk_text, _dingtalk_format,
            130101, {130101: "send too fast, exceed 20 times per minute", 300001: "token is not exist",
                     310000: "sign not match" + _MORE, 460101: "body 大小不合法"}),
)


# ------------------------------------------------------------------------------------------ its Chinese
# This service's own entries of the language table (i18n.py adds them when the provider registers).
ZH = {
    "DingTalk group robot": "钉钉群机器人",
    "Access token": "access_token",
    "the access_token=... part of the robot's webhook URL": "机器人 Webhook 地址里 access_token=... 的部分",
    "Signing secret": "加签密钥",
    "SEC..., when the robot's security setting is a signature (optional)":
        "SEC...，机器人安全设置选了“加签”时填写（可选）",
    "Mobile to @": "要 @ 的手机号",
    "mobile numbers of group members to @ (optional)": "要 @ 的群成员手机号（可选）",
    "In a DingTalk group: Settings > Bots > Add Robot > Custom; copy the webhook URL, and the SEC... secret if you "
    "chose signing.":
        "在钉钉群里：设置 > 机器人 > 添加机器人 > 自定义；复制 Webhook 地址，选了加签的话再复制 SEC... 密钥。",
    "DingTalk does not know this robot's access token": "钉钉不认识这个机器人的 access_token",
    "DingTalk refused the robot's security settings (signature, keyword or IP allow-list)":
        "钉钉按机器人的安全设置拒收了（加签、关键词或 IP 白名单）",
    "DingTalk rate limit hit (20 messages a minute per robot, then restricted for 10 minutes)":
        "触发钉钉频率限制（每个机器人每分钟 20 条，超出后限流 10 分钟）",
    "DingTalk says the message is too large (at most 20000 bytes)": "钉钉提示消息太大（最多 20000 字节）",
    "DingTalk says a field of the message is missing or malformed": "钉钉提示消息缺少字段或字段格式不对",
    "{label}: not a robot webhook URL (expected https://oapi.dingtalk.com/robot/send?access_token=…)":
        "{label}：不是机器人 Webhook 地址（应为 https://oapi.dingtalk.com/robot/send?access_token=…）",
}
