"""WeCom (企业微信) group robot webhook."""

from __future__ import annotations

from ..message import Notification, measure, render
from .base import Destination, Field, HttpRequest, HttpResponse, Provider, Verdict, json_body, refusal

ENDPOINT = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send"
TEXT_LIMIT, MARKDOWN_LIMIT = 2048, 4096  # UTF-8 bytes
CODES = {
    93000: "WeCom rejected the webhook key",
    45009: "WeCom rate limit hit (20 messages a minute per bot)",
    40008: "WeCom rejected the message type",
    40058: "WeCom says the content is too long",
}
TRANSIENT = {45009, -1}


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    """Plain text when it fits 2048 bytes; markdown_v2 (code blocks, 4096 bytes) when it is longer."""
    text = render(n, "text", 4 * MARKDOWN_LIMIT, "bytes")  # uncut when short: does it fit a text message?
    url = f"{ENDPOINT}?key={dest.values['key']}"
    if measure(text, "bytes") <= TEXT_LIMIT:
        return [HttpRequest("POST", url, json={"msgtype": "text", "text": {"content": text}})]
    md = render(n, "markdown", MARKDOWN_LIMIT, "bytes")
    return [HttpRequest("POST", url, json={"msgtype": "markdown_v2", "markdown_v2": {"content": md}})]


def judge(resp: HttpResponse) -> Verdict:
    """Success is ``errcode == 0``."""
    body, problem = json_body(resp, "WeCom")
    if problem or body is None:
        return problem or Verdict("retry", "WeCom sent no answer")
    code = body.get("errcode")
    if code == 0:
        return Verdict("delivered")
    msg = str(body.get("errmsg") or "").split(",")[0]  # drop WeCom's long "hint: [...]" tail
    return refusal("WeCom", CODES, code, msg, TRANSIENT, "errcode", 60.0 if code == 45009 else None)


def parse_webhook(url: str) -> str:
    """A pasted full webhook URL (``https://qyapi…/send?key=KEY``) becomes ``wecombot://KEY``."""
    from urllib.parse import parse_qs, urlparse

    key = parse_qs(urlparse(url).query).get("key", [""])[0]
    return f"wecombot://{key}"


WECOMBOT = Provider(
    name="wecombot", label="WeCom group bot", scheme="wecombot",
    fields=(Field("key", "Webhook key", r"[A-Za-z0-9_-]+", "the key=... part of the bot's webhook URL",
                  secret=True),),
    format="text", limit=MARKDOWN_LIMIT, unit="bytes", title_limit=TEXT_LIMIT,
    build=build, judge=judge, rates=((20, 60.0),),
    token_hint="In a WeCom group: ... > Add group bot > copy the webhook URL (or just its key=...).",
    url_example="wecombot://KEY",
)
