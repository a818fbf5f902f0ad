"""WeCom (企业微信) group robot webhook."""

from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

from ..figures import encode
from ..i18n import tr
from ..message import Notification, measure, render
from .base import N_, Destination, Field, HttpRequest, HttpResponse, Limit, Provider, Verdict, json_body, refusal

ENDPOINT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
WEBHOOK_HOST = "qyapi.weixin.qq.com"
TEXT_LIMIT, MARKDOWN_LIMIT = 2048, 4096  # UTF-8 bytes
IMAGE_LIMIT = 2 * 1024 * 1024  # bytes of the image before base64
CODES = {
    93000: N_("WeCom rejected the webhook key"),
    45009: N_("WeCom rate limit hit (20 messages a minute per bot)"),
    40008: N_("WeCom rejected the message type"),
    40058: N_("WeCom says the content is too long"),
}
TRANSIENT = {45009, -1}


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    """Plain text when it fits 2048 bytes; markdown_v2 (code blocks, 4096 bytes) when it is longer; then the
    figure, if any, as an image message (base64 and the md5 of its bytes, at most 2 MB)."""
    text = render(n, "text", 4 * MARKDOWN_LIMIT, "bytes")  # uncut when short: does it fit a text message?
    url = f"{ENDPOINT}?key={dest.values['key']}"
    if measure(text, "bytes") <= TEXT_LIMIT:
        message = HttpRequest("POST", url, json={"msgtype": "text", "text": {"content": text}})
    else:
        md = render(n, "markdown", MARKDOWN_LIMIT, "bytes")
        message = HttpRequest("POST", url, json={"msgtype": "markdown_v2", "markdown_v2": {"content": md}})
    image, _ = dest.provider.figure(n)
    if not image:
        return [message]
    picture = {"base64": encode(image), "md5": hashlib.md5(image, usedforsecurity=False).hexdigest()}
    return [message, HttpRequest("POST", url, json={"msgtype": "image", "image": picture})]


def judge(resp: HttpResponse) -> Verdict:
    """Success is ``errcode == 0``."""
    body, problem = json_body(resp, "WeCom")
    if problem or body is None:
        return problem or Verdict("retry", tr("{service} sent no answer", service="WeCom"))
    code = body.get("errcode")
    if code == 0:
        return Verdict("delivered")
    msg = str(body.get("errmsg") or "").split(",")[0]  # drop WeCom's long "hint: [...]" tail
    return refusal("WeCom", CODES, code, msg, TRANSIENT, "errcode", 60.0 if code == 45009 else None)


def is_webhook(url: str) -> bool:
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return False
    return parts.scheme.lower() in ("http", "https") and (parts.hostname or "").lower() == WEBHOOK_HOST


def from_webhook(url: str) -> str:
    """A pasted full webhook URL (``https://qyapi…/send?key=KEY``) becomes ``wecombot://KEY``."""
    key = parse_qs(urlsplit(url.strip()).query).get("key", [""])[0]
    return f"wecombot://{key}"


WECOMBOT = Provider(
    name="wecombot", label=N_("WeCom group bot"), scheme="wecombot",
    fields=(Field("key", N_("Webhook key"), r"[A-Za-z0-9_-]+", N_("the key=... part of the bot's webhook URL"),
                  secret=True, query=("key",)),),
    format="text", limit=MARKDOWN_LIMIT, unit="bytes", title_limit=None,
    build=build, judge=judge, limits=(Limit("key", 20, 60.0),),
    hint=N_("In a WeCom group: ... > Add group bot > copy the webhook URL (or just its key=...)."),
    hint_url="https://developer.work.weixin.qq.com/document/path/91770",
    url_example="wecombot://KEY",
    claims=lambda url: url.lower().startswith("wecombot://") or is_webhook(url),
    native=from_webhook, image_limit=IMAGE_LIMIT,
)

PROVIDERS = (WECOMBOT,)
