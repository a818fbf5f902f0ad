"""PushPlus (pushplus.plus)."""

from __future__ import annotations

from ..i18n import tr
from ..message import Notification, render, render_title
from .base import (
    DAY,
    N_,
    Destination,
    Field,
    HttpRequest,
    HttpResponse,
    Limit,
    Provider,
    Verdict,
    json_body,
    refusal,
)

ENDPOINT = "https://www.pushplus.plus/send"
TITLE_LIMIT, CONTENT_LIMIT = 100, 20000
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


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    body = {"token": dest.values["token"], "title": render_title(n, TITLE_LIMIT),
            "content": render(n, "html", CONTENT_LIMIT, with_title=False), "template": "html", "channel": "wechat"}
    if dest.values.get("topic"):
        body["topic"] = dest.values["topic"]
    return [HttpRequest("POST", ENDPOINT, json=body)]


def judge(resp: HttpResponse) -> Verdict:
    """Success is body ``code == 200`` (accepted; PushPlus delivers asynchronously)."""
    body, problem = json_body(resp, "PushPlus")
    if problem or body is None:
        return problem or Verdict("retry", tr("{service} sent no answer", service="PushPlus"))
    code = body.get("code")
    if code == 200:
        return Verdict("delivered")
    return refusal("PushPlus", CODES, code, body.get("msg"), TRANSIENT)


PUSHPLUS = Provider(
    name="pushplus", label=N_("PushPlus"), scheme="pushplus",
    fields=(Field("token", N_("Token"), r"[A-Za-z0-9_-]{32,64}",
                  N_("32 characters, from pushplus.plus > 一对一推送"), secret=True),
            Field("topic", N_("Topic"), r"[A-Za-z0-9_-]{1,50}", N_("group code (optional)"), required=False,
                  query=("topic",))),
    format="html", limit=CONTENT_LIMIT, unit="chars", title_limit=TITLE_LIMIT,
    build=build, judge=judge,
    # 5 a minute, 200 a day on the WeChat channel (failed calls count too), the same content 3 times an hour
    limits=(Limit("token", 5, 60.0), Limit("token", 200, DAY, name="pushplus"),
            Limit("token", 3, 3600.0, same_content=True)),
    hint=N_("Sign in at pushplus.plus with WeChat, verify your real name, and copy the token from 一对一推送 "
            "(one-to-one push)."),
    hint_url="https://www.pushplus.plus/",
    url_example="pushplus://TOKEN[/topic]",
)

PROVIDERS = (PUSHPLUS,)
