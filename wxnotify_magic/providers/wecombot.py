"""WeCom (企业微信) group robot webhook.

The URL forms are apprise's: ``wecombot://KEY``, ``wecombot://?key=KEY``, ``?format=text|markdown``, and the
pasted webhook URL ``https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=KEY``. ``?mention=@all,userid,13800001111``
@-mentions group members (WeCom's ``mentioned_list`` / ``mentioned_mobile_list``, as knockknock does).
"""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urlsplit

from ..figures import encode
from ..i18n import tr
from ..message import FACT, Notification, curves, cut_end, exception_line, facts, headline, measure, render
from .base import (
    APPRISE_OPTIONS,
    N_,
    Destination,
    DestinationError,
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
TRANSIENT = {45009, -1}


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
    return refusal("WeCom", CODES, code, msg, TRANSIENT, "errcode", 60.0 if code == 45009 else None)


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
    refine=refine,
)

PROVIDERS = (WECOMBOT,)
