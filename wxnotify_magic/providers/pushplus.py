"""PushPlus (pushplus.plus)."""

from __future__ import annotations

from ..message import Notification, render, render_title
from .base import Destination, Field, HttpRequest, HttpResponse, Provider, Verdict, json_body, refusal

ENDPOINT = "https://www.pushplus.plus/send"
TITLE_LIMIT, CONTENT_LIMIT = 100, 20000
CODES = {
    900: "PushPlus has restricted this account for too many requests; stop sending for now",
    903: "PushPlus rejected the token (invalid user token)",
    905: "PushPlus needs real-name verification of this account before it sends",
    888: "PushPlus account has not enough points",
    403: "PushPlus does not allow this IP",
    401: "PushPlus says unauthorized",
    600: "PushPlus rejected the data",
    999: "PushPlus rejected the request",
}
TRANSIENT = {500}


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    body = {"token": dest.values["token"], "title": render_title(n, TITLE_LIMIT),
            "content": render(n, "html", CONTENT_LIMIT), "template": "html", "channel": "wechat"}
    if dest.values.get("topic"):
        body["topic"] = dest.values["topic"]
    return [HttpRequest("POST", ENDPOINT, json=body)]


def judge(resp: HttpResponse) -> Verdict:
    """Success is body ``code == 200`` (accepted; PushPlus delivers asynchronously)."""
    body, problem = json_body(resp, "PushPlus")
    if problem or body is None:
        return problem or Verdict("retry", "PushPlus sent no answer")
    code = body.get("code")
    if code == 200:
        return Verdict("delivered")
    return refusal("PushPlus", CODES, code, body.get("msg"), TRANSIENT)


PUSHPLUS = Provider(
    name="pushplus", label="PushPlus", scheme="pushplus",
    fields=(Field("token", "Token", r"[A-Za-z0-9_-]{32,64}", "32 characters, from pushplus.plus > "
                  "一对一推送", secret=True),
            Field("topic", "Topic", r"[A-Za-z0-9_-]{1,50}", "group code (optional)", required=False)),
    format="html", limit=CONTENT_LIMIT, unit="chars", title_limit=TITLE_LIMIT,
    build=build, judge=judge, rates=((5, 60.0),), daily=200, same_content_per_hour=3,
    token_hint="Sign in at pushplus.plus with WeChat, verify your real name, and copy the token "
               "from 一对一推送 (one-to-one push).",
    url_example="pushplus://TOKEN[/topic]",
)
