"""WeCom (企业微信) group robot webhook.

The URL forms are apprise's: ``wecombot://KEY``, ``wecombot://?key=KEY``, ``?format=text|markdown``, and the
pasted webhook URL ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY``. ``?mention=@all,userid,13800001111``
@-mentions group members (WeCom's ``mentioned_list`` / ``mentioned_mobile_list``, as knockknock does).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
import time
import uuid
from typing import Any
from urllib.parse import urlsplit

from ..figures import encode, image_type
from ..i18n import tr
from ..message import FACT, Notification, curves, cut_end, exception_line, facts, headline, measure, render
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

ENDPOINT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
WEBHOOK_HOST = "qyapi.weixin.qq.com"
WEBHOOK_PATHS = ("/cgi-bin/webhook/send", "/cgi-bin/webhook/send/")
TEXT_LIMIT, MARKDOWN_LIMIT = 2048, 4096  # UTF-8 bytes
IMAGE_LIMIT = 2 * 1024 * 1024  # bytes of the image before base64
MOBILE = re.compile(r"\+?\d{5,20}")
CODES = {
    93000: N_("WeCom rejected the webhook key"),
    45009: N_("WeCom rate limit hit (20 messages a minute per bot)"),
    40008: N_("WeCom rejected the message type"),
    40058: N_("WeCom says the content is too long"),
}
TRANSIENT = {-1}
LIMITED = {45009: 60.0}  # "api freq out of limit": the bot's minute


def mentions(dest: Destination) -> dict[str, list[str]]:
    """``mentioned_list`` (user ids, ``@all``) and ``mentioned_mobile_list`` (phone numbers) of a text message."""
    users, mobiles = [], []
    for who in dict.fromkeys(dest.values.get("mentions") or []):
        if MOBILE.fullmatch(who):
            mobiles.append(who)
        else:
            users.append(who if who.lower() == "@all" else who.lstrip("@"))
    return {k: v for k, v in (("mentioned_list", users), ("mentioned_mobile_list", mobiles)) if v}




def wecom_markdown(n: Notification, limit: int = MARKDOWN_LIMIT) -> str:
    """WeCom's own ``markdown`` (no code blocks; headings, bold, quotes, three colours): the card as a heading,
    then its exception line (or a death's cause) in the warning colour, once, the message, the training curve, and the
    facts as a grey quote. The message gives way first when it must be shortened."""
    exc = exception_line(n)
    card = f"### {headline(n, exception=False)}"  # the exception line follows it, in colour
    lead = [card] + ([f'<font color="warning">{_escape(exc)}</font>'] if exc else [])
    tail = [_escape(x) for x in curves(n)]
    tail += ["> " + tr(FACT, lang=n.lang or None, label=f"**{k}**", value=f'<font color="comment">{_escape(v)}</font>')
             for k, v in facts(n)]
    fixed = "\n".join(lead + ([""] if tail else []) + tail)
    room = limit - measure(fixed, "bytes") - 4
    text = cut_end(_escape(n.text.strip("\n")), room, "bytes") if n.text.strip() and room > 0 else ""
    chunks = lead + ([text] if text else []) + ([""] if tail else []) + tail
    return cut_end("\n".join(chunks), limit, "bytes")


def _escape(text: str) -> str:
    """WeCom's markdown has no escapes (a backslash would show); text with ``<`` goes as text (see ``build``)."""
    return text


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    """Text with mentions, ``format=text`` or a ``<`` in the text (2048 bytes, cut to fit); else markdown:
    ``markdown_v2``, whose code blocks show the output tail and traceback best, when the message has any (4096
    bytes); WeCom's ``markdown`` (colours, no code blocks) when it has none. Then each figure (a digest has one
    per pictured job, up to four), as an image message (base64 and the md5 of its bytes, at most 2 MB)."""
    fmt = dest.values.get("format") or ""
    url = f"{ENDPOINT}?key={dest.values['key']}"
    who = mentions(dest)
    if who or fmt == "text" or (fmt != "markdown" and "<" in n.text + n.title):  # tags: shown as typed
        text = render(n, "text", TEXT_LIMIT, "bytes")
        message = HttpRequest("POST", url, json={"msgtype": "text", "text": {"content": text, **who}})
    elif n.output.strip() or n.value.strip() or n.traceback.strip():
        md = render(n, "markdown", MARKDOWN_LIMIT, "bytes")
        message = HttpRequest("POST", url, json={"msgtype": "markdown_v2", "markdown_v2": {"content": md}})
    else:
        message = HttpRequest("POST", url, json={"msgtype": "markdown", "markdown": {"content": wecom_markdown(n)}})
    images, _ = dest.provider.figures(n)
    return [message] + [HttpRequest("POST", url, json={"msgtype": "image", "image": {
        "base64": encode(image), "md5": hashlib.md5(image, usedforsecurity=False).hexdigest()}}) for image in images]


def judge(resp: HttpResponse) -> Verdict:
    """Success is ``errcode == 0``."""
    body, problem = json_body(resp, "WeCom")
    if problem or body is None:
        return problem or Verdict("retry", tr("{service} sent no answer", service="WeCom"))
    code = body.get("errcode")
    if code == 0:
        return Verdict("delivered")
    msg = str(body.get("errmsg") or "").split(",")[0]  # drop WeCom's long "hint: [...]" tail
    return refusal("WeCom", CODES, code, msg, TRANSIENT, "errcode", limited=LIMITED)


def is_webhook(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and (parts.hostname or "").lower() == WEBHOOK_HOST


def from_webhook(url: str) -> str:
    """A pasted webhook URL (``https://qyapi…/send?key=KEY&…``) becomes ``wecombot://?key=KEY&…``."""
    parts = urlsplit(url.strip())
    if parts.path not in WEBHOOK_PATHS:
        raise DestinationError(tr("{label}: not a webhook URL (expected https://qyapi.weixin.qq.com/cgi-bin/webhook/"
                                  "send?key=…)", label=tr(WECOMBOT.label)))
    return f"wecombot://?{parts.query}"


def refine(values: dict[str, Any]) -> dict[str, Any]:
    if values.get("mentions") and values.get("format") == "markdown":
        raise DestinationError(tr("{label} URL: mentions work only in text messages; drop format=markdown",
                                  label=tr(WECOMBOT.label)))
    return values


WECOMBOT = Provider(
    name="wecombot", label=N_("WeCom group bot"), scheme="wecombot",
    fields=(Field("key", N_("Webhook key"), r"[A-Za-z0-9_-]+", N_("the key=... part of the bot's webhook URL"),
                  secret=True, query=("key",)),
            Field("mentions", N_("Mention"), r"@all|@?[A-Za-z0-9_.@+-]{1,64}",
                  N_("@all, user ids or mobile numbers to @ (optional)"), many=True, required=False,
                  query=("mention",), in_path=False)),
    format="text", limit=MARKDOWN_LIMIT, unit="bytes", title_limit=None,
    build=build, judge=judge, limits=(Limit("key", 20, 60.0),),
    hint=N_("In a WeCom group: ... > Add group bot > copy the webhook URL (or just its key=...)."),
    hint_url="https://developer.work.weixin.qq.com/document/path/91770",
    url_example="wecombot://KEY",
    claims=lambda url: url.lower().startswith("wecombot://") or is_webhook(url),
    native=from_webhook, image_limit=IMAGE_LIMIT,
    options=(format_option("text", "markdown"), *APPRISE_OPTIONS),
    refine=refine, wechat=True,
    example=Example("wecombot://test-wecom-key-0123456789", ("test-wecom-key-0123456789",), 93000),
)

PROVIDERS = (WECOMBOT,)


# ------------------------------------------------------------------------------------------ the local inbox
# How the inbox answers like the service (written from its documentation, apart from build and judge above).

_WECOM_LIMITS = {"text": 2048, "markdown": 4096, "markdown_v2": 4096}  # UTF-8 bytes
_WECOM_OTHER = {"news", "file", "voice", "template_card"}
_WECOM_IMAGE_MAX = 2 * 1024 * 1024  # bytes, before base64
def wecom_image(body: Any) -> bytes | None:
    """The raw bytes of a bot ``image`` message's base64 (None when absent or not base64)."""
    part = body.get("image") if isinstance(body, dict) else None
    data = part.get("base64") if isinstance(part, dict) else None
    if not isinstance(data, str) or not data:
        return None
    try:
        return base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return None


def _wecom_check_image(body: JSON) -> None:
    """base64 + md5 of the raw bytes, at most 2 MB, JPG or PNG; the service's error codes otherwise."""
    part = body.get("image")
    if not isinstance(part, dict) or not _text(part.get("base64")):
        raise Reject(44001, "empty media data")
    raw = wecom_image(body)
    if raw is None:
        raise Reject(40005, "invalid file type")
    if hashlib.md5(raw).hexdigest() != _text(part.get("md5")).lower():
        raise Reject(301019, "media md5 not match")
    if len(raw) > _WECOM_IMAGE_MAX:
        raise Reject(40009, "invalid image size")
    if not image_type(raw):
        raise Reject(40005, "invalid file type")


def _wecom_content(body: Any) -> str:
    """text.content / markdown.content / markdown_v2.content of a bot message."""
    if not isinstance(body, dict):
        return ""
    part = body.get(_text(body.get("msgtype")))
    return _text(part.get("content")) if isinstance(part, dict) else ""


def _wecombot(req: Request) -> JSON:
    """POST /cgi-bin/webhook/send?key=KEY."""
    key = req.query.get("key", "")
    if not key or "bad" in key.lower():
        raise Reject(93000, "invalid webhook url")
    msgtype = _text(req.body.get("msgtype")) if isinstance(req.body, dict) else ""
    if msgtype in _WECOM_LIMITS:
        content, limit = _wecom_content(req.body), _WECOM_LIMITS[msgtype]
        if not content:
            raise Reject(44004, f"{msgtype}.content is empty")
        if len(content.encode()) > limit:
            raise Reject(40058, f"{msgtype}.content exceed max length {limit}")
    elif msgtype == "image":
        _wecom_check_image(req.body)
    elif msgtype not in _WECOM_OTHER:
        raise Reject(40008, "invalid message type")
    return {"errcode": 0, "errmsg": "ok"}


def _wecom_error(code: int, msg: str) -> JSON:
    hint = f"{int(time.time())}-{uuid.uuid4().hex[:6]}"
    more = f"more info at https://open.work.weixin.qq.com/devtool/query?e={code}"
    return {"errcode": code, "errmsg": f"{msg}, hint: [{hint}], {more}"}


def _wecom_text(req: Request) -> tuple[str, str]:
    """The content of text and markdown messages; news, file, voice and cards as their JSON."""
    msgtype = _text(req.body.get("msgtype")) if isinstance(req.body, dict) else ""
    if msgtype in _WECOM_OTHER:
        return "", _text(req.body.get(msgtype))
    return "", _wecom_content(req.body)


def _wecom_format(req: Request) -> str:
    """text, markdown (markdown and markdown_v2), image; the other message types are shown as JSON."""
    msgtype = _text(req.body.get("msgtype")) if isinstance(req.body, dict) else ""
    return {"text": "text", "markdown": "markdown", "markdown_v2": "markdown", "image": "image"}.get(msgtype, "json")


INBOX = (
    Service("wecombot", re.compile(r"/cgi-bin/webhook/send"), POST, _wecombot, _wecom_error, _wecom_text,
            _wecom_format, 45009,
            {45009: "api freq out of limit", 93000: "invalid webhook url", 44004: "empty content",
             40008: "invalid message type", 40058: "content exceed max length", 44001: "empty media data",
             40005: "invalid file type", 40009: "invalid image size", 301019: "media md5 not match"},
            image=wecom_image),
)


# ------------------------------------------------------------------------------------------ its Chinese
# This service's own entries of the language table (i18n.py adds them when the provider registers).
ZH = {
    "WeCom group bot": "企业微信群机器人",
    "Webhook key": "Webhook 密钥",
    "the key=... part of the bot's webhook URL": "机器人 Webhook 地址里 key=... 的部分",
    "In a WeCom group: ... > Add group bot > copy the webhook URL (or just its key=...).":
        "在企业微信群里：… > 添加群机器人 > 复制 Webhook 地址（或只复制其中的 key=...）。",
    "WeCom rejected the webhook key": "企业微信拒绝了 Webhook 密钥",
    "WeCom rate limit hit (20 messages a minute per bot)": "触发企业微信频率限制（每个机器人每分钟 20 条）",
    "WeCom rejected the message type": "企业微信拒绝了这种消息类型",
    "WeCom says the content is too long": "企业微信提示内容过长",
    "@all, user ids or mobile numbers to @ (optional)": "要 @ 的人：@all、成员 userid 或手机号（可选）",
    "Mention": "提醒（@）",
    "{label} URL: mentions work only in text messages; drop format=markdown":
        "{label} URL：@提醒只能用于文本消息；请去掉 format=markdown",
    "{label}: not a webhook URL (expected https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…)":
        "{label}：不是 webhook 地址（应为 https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…）",
}
