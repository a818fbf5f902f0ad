"""PushPlus (pushplus.plus).

The URL forms are apprise's: ``pushplus://TOKEN[/topic|/#topic|/@friend ...]``, ``?topic=``, ``?to=``,
``?channel=`` (alias ``mode``), ``?option=`` (``webhook``, ``name``, or ``name@TOKEN``, which also means the
webhook channel), ``?template=``, ``?format=``, ``?callback=``; ``wecom://TOKEN`` is PushPlus' WeCom channel
(not a WeCom group bot); and the service's own ``https://www.pushplus.plus/send?token=...`` URLs.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from ..i18n import tr
from ..message import Format, Notification, render, render_title
from .base import (
    APPRISE_OPTIONS,
    DAY,
    N_,
    Destination,
    DestinationError,
    Example,
    Field,
    HttpRequest,
    HttpResponse,
    Limit,
    Option,
    Provider,
    Verdict,
    format_option,
    split_url,
)
from .emulation import JSON, Reject, Request, Service
from .emulation import check_len as _check_len
from .emulation import text as _text
from .judging import json_body, refusal

ENDPOINT = "https://www.pushplus.plus/send"
BATCH_ENDPOINT = "https://www.pushplus.plus/batchSend"  # several channels at once
TITLE_LIMIT, CONTENT_LIMIT = 100, 20000
MAX_FRIENDS = 10  # friend tokens per request
CHANNELS = ("wechat", "app", "extension", "webhook", "clawbot", "cmcc", "qq", "cp", "mail", "sms", "voice")
TEMPLATES = ("json", "cloudMonitor", "jenkins", "route", "pay")  # besides the formats
FORMAT_TEMPLATES: dict[str, tuple[str, Format]] = {"html": ("html", "html"), "markdown": ("markdown", "markdown"),
                                                   "text": ("txt", "text")}
CODES = {
    900: N_("PushPlus has restricted this account for too many requests; stop sending for now"),
    903: N_("PushPlus rejected the token (invalid user token)"),
    905: N_("PushPlus needs real-name verification of this account before it sends"),
    888: N_("PushPlus account has not enough points"),
    403: N_("PushPlus does not allow this IP"),
    401: N_("PushPlus says unauthorized"),
    600: N_("PushPlus rejected the data"),
    999: N_("PushPlus rejected the request"),
}
TRANSIENT = {500}
LIMITED = {900: 2 * DAY}  # "account restricted": its own answer says it recovers two days after the calls stop
_NATIVE = re.compile(r"^https?://(?:www\.)?pushplus\.plus/(?:send|batchSend)(?:/(?P<token>[^/?#]+))?/?"
                     r"(?:\?(?P<query>.*))?$", re.IGNORECASE)


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    """One request per topic, friends ten at a time, or one to the token's owner when there are neither."""
    values = dest.values
    channel = values.get("channel") or "wechat"
    template, fmt = FORMAT_TEMPLATES[values.get("format") or "html"]
    if values.get("template"):
        template, fmt = values["template"], "text"
    body: dict[str, Any] = {"token": values["token"], "title": render_title(n, TITLE_LIMIT),
                            "content": render(n, fmt, CONTENT_LIMIT, with_title=False), "template": template,
                            "channel": channel}
    if values.get("option"):
        body["option"] = values["option"]
        if channel == "webhook":
            body["webhook"] = values["option"]
    if values.get("callback"):
        body["callbackUrl"] = values["callback"]
    url = BATCH_ENDPOINT if "," in channel else ENDPOINT
    friends = list(dict.fromkeys(values["friends"]))
    bodies = ([{**body, "topic": t} for t in dict.fromkeys(values["topics"])]
              + [{**body, "to": ",".join(friends[i:i + MAX_FRIENDS])} for i in range(0, len(friends), MAX_FRIENDS)])
    return [HttpRequest("POST", url, json=b) for b in bodies or [body]]


def judge(resp: HttpResponse) -> Verdict:
    """Success is body ``code == 200`` (accepted; PushPlus delivers asynchronously)."""
    body, problem = json_body(resp, "PushPlus")
    if problem or body is None:
        return problem or Verdict("retry", tr("{service} sent no answer", service="PushPlus"))
    code = body.get("code")
    if code == 200:
        return Verdict("delivered")
    return refusal("PushPlus", CODES, code, body.get("msg"), TRANSIENT, limited=LIMITED)


def from_native(url: str) -> str:
    """``https://www.pushplus.plus/send?token=T&...`` (or ``/send/T``, ``/batchSend``) and ``wecom://T``
    -> ``pushplus://...``."""
    if url.lower().startswith("wecom://"):
        try:
            given = any(k in ("channel", "mode") for k, _ in split_url(url).query)
        except ValueError:
            raise DestinationError(tr("{label}: the URL is malformed", label=tr(PUSHPLUS.label))) from None
        cp = "" if given else ("&" if "?" in url else "?") + "channel=cp"
        return "pushplus://" + url.split("://", 1)[1] + cp
    m = _NATIVE.match(url.strip())
    if m is None:
        raise DestinationError(tr("{label}: not a PushPlus send URL (expected https://www.pushplus.plus/send?token=…)",
                                  label=tr(PUSHPLUS.label)))
    query = m.group("query") or ""
    return f"pushplus://{m.group('token') or ''}" + (f"?{query}" if query else "")


def owns(url: str) -> bool:
    scheme = url.split("://", 1)[0].lower()
    return scheme in ("pushplus", "wecom") or (scheme in ("http", "https") and bool(_NATIVE.match(url.strip())))


def refine(values: dict[str, Any]) -> dict[str, Any]:
    """A ``name@TOKEN`` names a webhook: it is the option, and the channel is webhook unless given."""
    user = values.pop("user", "")
    if user:
        values["option"] = values["option"] or user
        values["channel"] = values["channel"] or "webhook"
    return values


NAME = r"[A-Za-z0-9_-]{1,50}"
PUSHPLUS = Provider(
    name="pushplus", label=N_("PushPlus"), scheme="pushplus",
    fields=(Field("token", N_("Token"), r"[A-Za-z0-9_-]{32,64}",
                  N_("32 characters, from pushplus.plus > 一对一推送"), secret=True, query=("token",)),
            Field("topics", N_("Topic"), NAME, N_("group code (optional)"), many=True, required=False,
                  query=("topic", "to"), prefix="#"),
            Field("friends", N_("Friend token"), NAME, N_("@ and a friend's token (optional)"), secret=True,
                  many=True, required=False, query=("topic", "to"), prefix="@")),
    format="html", limit=CONTENT_LIMIT, unit="chars", title_limit=TITLE_LIMIT,
    build=build, judge=judge,
    # 5 a minute, 200 a day on the WeChat channel (failed calls count too), the same content 3 times an hour
    limits=(Limit("token", 5, 60.0), Limit("token", 200, DAY, name="pushplus"),
            Limit("token", 3, 3600.0, same_content=True)),
    hint=N_("Sign in at pushplus.plus with WeChat, verify your real name, and copy the token from 一对一推送 "
            "(one-to-one push)."),
    hint_url="https://www.pushplus.plus/",
    url_example="pushplus://TOKEN[/topic]",
    claims=owns, native=from_native,
    options=(Option("channel", ("channel", "mode"), CHANNELS, aliases=(("wecom", "cp"),), many=True),
             Option("option", ("option", "webhook", "name")), Option("user", ()),
             Option("template", ("template",), TEMPLATES), format_option(*FORMAT_TEMPLATES),
             Option("callback", ("callback", "callbackurl"), pattern=r"https?://\S+", secret=True),
             *APPRISE_OPTIONS),
    userinfo="user", host_target=False, refine=refine, wechat=True,
    example=Example("pushplus://test0123456789abcdef0123456789ab/grp", ("test0123456789abcdef0123456789ab",), 903),
)

PROVIDERS = (PUSHPLUS,)


# ------------------------------------------------------------------------------------------ the local inbox
# How the inbox answers like the service (written from its documentation, apart from build and judge above).

_PUSHPLUS_TOKEN = re.compile(r"[A-Za-z0-9]{32}")
_PUSHPLUS_TEMPLATES = {"html", "txt", "json", "markdown", "cloudMonitor", "jenkins", "route", "pay", "form",
                       "doc", "excel"}
_PUSHPLUS_CHANNELS = {"wechat", "webhook", "cp", "mail", "sms", "extension", "voice", "app", "clawbot", "cmcc", "qq"}


def _pushplus_token(req: Request) -> str:
    return _text(req.groups[0] if req.groups and req.groups[0] else req.fields.get("token"))


def _pushplus(req: Request) -> JSON:
    """GET/POST /send, /send/{token} and /batchSend."""
    fields, token = req.fields, _pushplus_token(req)
    if not _PUSHPLUS_TOKEN.fullmatch(token) or "bad" in token.lower():
        raise Reject(903, "无效的用户token")
    content = _text(fields.get("content"))
    if not content:
        raise Reject(999, "content不能为空")
    _check_len(content, 20000, 999, "content长度不能超过20000")
    _check_len(_text(fields.get("title")), 100, 999, "title长度不能超过100")
    if _text(fields.get("template") or "html") not in _PUSHPLUS_TEMPLATES:
        raise Reject(999, "template不正确")
    channels = _text(fields.get("channel") or "wechat").split(",")  # /batchSend takes several
    if any(c not in _PUSHPLUS_CHANNELS for c in channels) or (len(channels) > 1 and "batchSend" not in req.path):
        raise Reject(999, "channel不正确")
    return {"code": 200, "msg": "请求成功", "data": uuid.uuid4().hex}


def _pushplus_error(code: int, msg: str) -> JSON:
    return {"code": code, "msg": msg, "data": None}


def _pushplus_text(req: Request) -> tuple[str, str]:
    return _text(req.fields.get("title")), _text(req.fields.get("content"))


def _pushplus_format(req: Request) -> str:
    """template html (default), markdown, txt, json; the other templates are shown as text."""
    template = _text(req.fields.get("template") or "html")
    return {"html": "html", "markdown": "markdown", "json": "json"}.get(template, "text")


INBOX = (
    Service("pushplus", re.compile(r"/(?:send|batchSend)(?:/([^/.]*))?/?"), frozenset({"GET", "POST", "PUT", "DELETE"}),
            _pushplus, _pushplus_error, _pushplus_text, _pushplus_format, 900,
            {302: "未登录", 401: "请求未授权", 403: "请求IP未授权", 500: "系统异常，请稍后再试",
             600: "数据异常，操作失败", 805: "无权查看", 888: "积分不足，需要充值",
             900: "请求次数过多,减少请求后2天恢复正常", 903: "无效的用户token",
             905: "账户未进行实名认证", 999: "服务端验证错误"}),
)


# ------------------------------------------------------------------------------------------ its Chinese
# This service's own entries of the language table (i18n.py adds them when the provider registers).
ZH = {
    "PushPlus": "PushPlus",
    "Token": "令牌",
    "32 characters, from pushplus.plus > 一对一推送": "32 个字符，在 pushplus.plus 的“一对一推送”里",
    "Topic": "群组编码",
    "group code (optional)": "群组编码（可选）",
    "Sign in at pushplus.plus with WeChat, verify your real name, and copy the token from 一对一推送 (one-to-one "
    "push).":
        "用微信登录 pushplus.plus，完成实名认证，然后在“一对一推送”里复制令牌。",
    "PushPlus has restricted this account for too many requests; stop sending for now":
        "PushPlus 因请求过多限制了这个账号；请先停止发送",
    "PushPlus rejected the token (invalid user token)": "PushPlus 拒绝了令牌（用户令牌无效）",
    "PushPlus needs real-name verification of this account before it sends":
        "PushPlus 要求这个账号先完成实名认证才能发送",
    "PushPlus account has not enough points": "PushPlus 账号积分不足",
    "PushPlus does not allow this IP": "PushPlus 不允许这个 IP",
    "PushPlus says unauthorized": "PushPlus 返回未授权",
    "PushPlus rejected the data": "PushPlus 拒绝了数据",
    "PushPlus rejected the request": "PushPlus 拒绝了请求",
    "@ and a friend's token (optional)": "@ 加好友令牌（可选）",
    "Friend token": "好友令牌",
    "{label}: not a PushPlus send URL (expected https://www.pushplus.plus/send?token=…)":
        "{label}：不是 PushPlus 发送地址（应为 https://www.pushplus.plus/send?token=…）",
}
