"""Feishu (飞书) and Lark custom group bots: the same API on two hosts.

The URL forms are apprise's: ``feishu://TOKEN`` (open.feishu.cn) and ``lark://TOKEN`` (open.larksuite.com), ``?token=``;
a bot that signs its messages as ``feishu://SECRET@TOKEN`` or ``?secret=``; ``?format=text|markdown``. The bot's own
webhook URL (``https://open.feishu.cn/open-apis/bot/v2/hook/TOKEN``, or on open.larksuite.com) pastes as it is.
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
from urllib.parse import urlsplit

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

HOSTS = {"feishu": "open.feishu.cn", "lark": "open.larksuite.com"}
PATH = "/open-apis/bot/v2/hook/"
BODY_LIMIT = 20 * 1024  # bytes of the request body
# The body travels as ASCII JSON, where a Chinese character takes 6 bytes (3 in UTF-8): 9000 UTF-8 bytes of
# content stay within 20 KB of body whatever the script.
CONTENT_LIMIT = 9000
TITLE_LIMIT = 100  # the title of a post or card; its limit is not documented
CODES = {
    19001: N_("Feishu does not know this bot's webhook token"),
    19021: N_("Feishu rejected the signature (or the clock is more than an hour off)"),
    19022: N_("Feishu does not allow this IP"),
    19024: N_("Feishu did not find the bot's keyword in the message"),
    11232: N_("Feishu rate limit hit (100 a minute and 5 a second per bot)"),
    9499: N_("Feishu rejected the request as malformed"),
}
TRANSIENT = {11232}


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    """A ``post`` (its title, then the text), ``text`` with ``format=text``, or an ``interactive`` card with a
    markdown element with ``format=markdown``."""
    fmt = dest.values.get("format")
    title = render_title(n, TITLE_LIMIT)
    body: dict[str, Any]
    if fmt == "text":
        body = {"msg_type": "text", "content": {"text": render(n, "text", CONTENT_LIMIT, "bytes")}}
    elif fmt == "markdown":
        md = render(n, "markdown", CONTENT_LIMIT, "bytes", with_title=False)
        body = {"msg_type": "interactive", "card": {"header": {"title": {"tag": "plain_text", "content": title}},
                                                     "elements": [{"tag": "markdown", "content": md}]}}
    else:
        text = render(n, "text", CONTENT_LIMIT, "bytes", with_title=False)
        post = {"title": title, "content": [[{"tag": "text", "text": text}]]}
        body = {"msg_type": "post", "content": {"post": {"zh_cn": post}}}
    host = HOSTS[dest.provider.scheme]
    return [HttpRequest("POST", f"https://{host}{PATH}{dest.values['token']}", json=body)]


def signature(secret: str, timestamp: str) -> str:
    """``base64(HMAC-SHA256(key=f"{timestamp}\\n{secret}", msg=b""))``: Feishu's bot signature (the key and the
    message are the other way round from DingTalk's)."""
    return base64.b64encode(hmac.new(f"{timestamp}\n{secret}".encode(), b"", hashlib.sha256).digest()).decode()


def sign(request: HttpRequest, dest: Destination, now: float) -> HttpRequest:
    """With a signing secret: ``timestamp`` (seconds) and ``sign`` in the JSON body."""
    secret = dest.values.get("secret")
    if not secret:
        return request
    timestamp = str(int(now))
    return replace(request, json={**request.json, "timestamp": timestamp, "sign": signature(secret, timestamp)})


def judge(resp: HttpResponse) -> Verdict:
    """Success is ``code == 0`` (``StatusCode == 0`` in the bot's older answer)."""
    body, problem = json_body(resp, "Feishu")
    if problem or body is None:
        return problem or Verdict("retry", tr("{service} sent no answer", service="Feishu"))
    code = body.get("code", body.get("StatusCode"))
    if code == 0:
        return Verdict("delivered")
    msg = body.get("msg") or body.get("StatusMessage")
    return refusal("Feishu", CODES, code, msg, TRANSIENT, "code", 60.0 if code == 11232 else None)


def _webhook_of(scheme: str) -> Any:
    def claims(url: str) -> bool:
        if url.lower().startswith(scheme + "://"):
            return True
        try:
            parts = urlsplit(url.strip())
        except ValueError:
            return False
        return parts.scheme.lower() in ("http", "https") and (parts.hostname or "").lower() == HOSTS[scheme]

    def native(url: str) -> str:
        """``https://HOST/open-apis/bot/v2/hook/TOKEN`` becomes ``SCHEME://TOKEN``."""
        parts = urlsplit(url.strip())
        m = re.fullmatch(re.escape(PATH) + r"([A-Za-z0-9_-]+)/?", parts.path)
        if m is None:
            raise DestinationError(tr("{label}: not a bot webhook URL (expected https://{host}/open-apis/bot/v2/hook/…)",
                                      label=tr(LABELS[scheme]), host=HOSTS[scheme]))
        return f"{scheme}://{m.group(1)}" + (f"?{parts.query}" if parts.query else "")

    return claims, native


LABELS = {"feishu": N_("Feishu group bot"), "lark": N_("Lark group bot")}
FIELDS = (
    Field("token", N_("Webhook token"), r"[A-Za-z0-9_-]+", N_("the last part of the bot's webhook URL"), secret=True,
          query=("token",)),
    Field("secret", N_("Signing secret"), r"[A-Za-z0-9]+",
          N_("when the bot's security setting is a signature (optional)"), secret=True, required=False,
          query=("secret",), in_path=False),
)
TOKEN, SECRET = "0a1b2c3d-test-feishu-token-0123456789ab", "testFeishuSecret0123456789"


def _provider(scheme: str, hint_url: str) -> Provider:
    claims, native = _webhook_of(scheme)
    return Provider(
        name=scheme, label=LABELS[scheme], scheme=scheme, fields=FIELDS,
        format="text", limit=CONTENT_LIMIT, unit="bytes", title_limit=TITLE_LIMIT,
        build=build, judge=judge, sign=sign, limits=(Limit("token", 5, 1.0), Limit("token", 100, 60.0)),
        hint=N_("In the group: Settings > Bots > Add Bot > Custom Bot; copy the webhook URL, and the secret if you "
                "turned on signature verification."),
        hint_url=hint_url, url_example=f"{scheme}://SECRET@TOKEN", claims=claims, native=native,
        options=(format_option("text", "markdown"), *APPRISE_OPTIONS), userinfo="secret",
        secret_path=r"/open-apis/bot/v2/hook/([A-Za-z0-9_-]+)",
        example=Example(f"{scheme}://{SECRET}@{TOKEN}", (SECRET, TOKEN), 19001),
    )


FEISHU = _provider("feishu", "https://open.feishu.cn/document/client-docs/bot-v3/add-custom-bot")
LARK = _provider("lark", "https://open.larksuite.com/document/client-docs/bot-v3/add-custom-bot")
PROVIDERS = (FEISHU, LARK)


# ------------------------------------------------------------------------------------------ the local inbox
# How the inbox answers like Feishu (from its documentation and answers users report; see docs/providers.md).


def _check_signature(body: dict[str, Any]) -> None:
    """A signed body carries a timestamp in seconds within an hour and a base64 HMAC-SHA256."""
    if "timestamp" not in body and "sign" not in body:
        return
    stamp = _text(body.get("timestamp"))
    try:
        ok = stamp.isdigit() and abs(int(stamp) - time.time()) <= 3600
        ok = ok and len(base64.b64decode(_text(body.get("sign")), validate=True)) == 32
    except ValueError:
        ok = False
    if not ok:
        raise Reject(19021, "sign match fail or timestamp is not within one hour from current time")


def _feishu(req: Request) -> JSON:
    """POST /open-apis/bot/v2/hook/{token}."""
    token = _text(req.groups[0])
    if not token or "bad" in token.lower():
        raise Reject(19001, "param invalid: incoming webhook access token invalid")
    if not isinstance(req.body, dict) or len(json.dumps(req.body).encode()) > BODY_LIMIT:
        raise Reject(9499, "Bad Request")
    _check_signature(req.body)
    kind, content = _text(req.body.get("msg_type")), req.body.get("content")
    if kind == "interactive":
        if not isinstance(req.body.get("card"), dict):
            raise Reject(9499, "Bad Request")
    elif kind == "text":
        if not isinstance(content, dict) or not _text(content.get("text")):
            raise Reject(9499, "Bad Request")
    elif kind == "post":
        post = content.get("post") if isinstance(content, dict) else None
        if not isinstance(post, dict) or not all(isinstance(p, dict) and isinstance(p.get("content"), list)
                                                 for p in post.values()) or not post:
            raise Reject(9499, "Bad Request")
    elif kind not in ("image", "share_chat"):
        raise Reject(9499, "Bad Request")
    return {"code": 0, "data": {}, "msg": "success"}


def _error(code: int, msg: str) -> JSON:
    return {"code": code, "data": {}, "msg": msg}


def _feishu_text(req: Request) -> tuple[str, str]:
    body = req.body if isinstance(req.body, dict) else {}
    kind, content = _text(body.get("msg_type")), body.get("content")
    if kind == "text" and isinstance(content, dict):
        return "", _text(content.get("text"))
    if kind == "post" and isinstance(content, dict) and isinstance(content.get("post"), dict):
        post: dict[str, Any] = next(iter(content["post"].values()), {})
        lines = ["".join(_text(e.get("text")) for e in para if isinstance(e, dict))
                 for para in post.get("content", []) if isinstance(para, list)]
        return _text(post.get("title")), "\n".join(lines)
    found = body.get("card")
    card: dict[str, Any] = found if isinstance(found, dict) else {}
    if kind == "interactive":
        title = _text(card.get("header", {}).get("title", {}).get("content"))
        return title, "\n".join(_text(e.get("content")) for e in card.get("elements", []) if isinstance(e, dict))
    return "", _text(content)


def _feishu_format(req: Request) -> str:
    body = req.body if isinstance(req.body, dict) else {}
    return {"text": "text", "post": "text", "interactive": "markdown"}.get(_text(body.get("msg_type")), "json")


INBOX = (
    Service("feishu", re.compile(r"/open-apis/bot/v2/hook/([^/]*)/?"), POST, _feishu, _error, _feishu_text,
            _feishu_format, 11232,
            {11232: "frequency limited", 19001: "param invalid: incoming webhook access token invalid",
             19021: "sign match fail or timestamp is not within one hour from current time",
             19024: "Key Words Not Found", 9499: "Bad Request"}),
)


# ------------------------------------------------------------------------------------------ its Chinese
# This service's own entries of the language table (i18n.py adds them when the provider registers).
ZH = {
    "Feishu group bot": "飞书群机器人",
    "Lark group bot": "Lark 群机器人",
    "Webhook token": "Webhook 令牌",
    "Signing secret": "加签密钥",
    "the last part of the bot's webhook URL": "机器人 Webhook 地址的最后一段",
    "when the bot's security setting is a signature (optional)": "机器人安全设置开启了“签名校验”时填写（可选）",
    "In the group: Settings > Bots > Add Bot > Custom Bot; copy the webhook URL, and the secret if you turned on "
    "signature verification.":
        "在群里：设置 > 群机器人 > 添加机器人 > 自定义机器人；复制 Webhook 地址，开启了签名校验的话再复制密钥。",
    "Feishu does not know this bot's webhook token": "飞书不认识这个机器人的 Webhook 令牌",
    "Feishu rejected the signature (or the clock is more than an hour off)":
        "飞书拒绝了签名（或本机时间偏差超过一小时）",
    "Feishu does not allow this IP": "飞书不允许这个 IP",
    "Feishu did not find the bot's keyword in the message": "飞书在消息里没找到机器人设置的关键词",
    "Feishu rate limit hit (100 a minute and 5 a second per bot)":
        "触发飞书频率限制（每个机器人每分钟 100 条、每秒 5 条）",
    "Feishu rejected the request as malformed": "飞书认为请求格式不对而拒收",
    "{label}: not a bot webhook URL (expected https://{host}/open-apis/bot/v2/hook/…)":
        "{label}：不是机器人 Webhook 地址（应为 https://{host}/open-apis/bot/v2/hook/…）",
}
