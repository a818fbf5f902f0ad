"""PushPlus (pushplus.plus).

The URL forms are apprise's: ``pushplus://TOKEN[/topic|/#topic|/@friend ...]``, ``?topic=``, ``?to=``,
``?channel=`` (alias ``mode``), ``?option=`` (``webhook``, ``name``, or ``name@TOKEN``, which also means the
webhook channel), ``?template=``, ``?format=``, ``?callback=``; ``wecom://TOKEN`` is PushPlus' WeCom channel
(not a WeCom group bot); and the service's own ``https://www.pushplus.plus/send?token=...`` URLs.
"""

from __future__ import annotations

import re
from typing import Any

from ..i18n import tr
from ..message import Format, Notification, render, render_title
from .base import (
    APPRISE_OPTIONS,
    DAY,
    N_,
    Destination,
    DestinationError,
    Field,
    HttpRequest,
    HttpResponse,
    Limit,
    Option,
    Provider,
    Verdict,
    format_option,
    json_body,
    refusal,
    split_url,
)

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
    userinfo="user", host_target=False, refine=refine,
)

PROVIDERS = (PUSHPLUS,)
