"""WxPusher: standard send (app token + UIDs / topic ids) and SPT simple push."""

from __future__ import annotations

from ..message import Notification, render, render_title
from .base import Destination, Field, HttpRequest, HttpResponse, Provider, Verdict, json_body, refusal

ENDPOINT = "https://wxpusher.zjiecode.com/api/send/message"
SIMPLE_ENDPOINT = "https://wxpusher.zjiecode.com/api/send/message/simple-push"
MAX_UIDS, MAX_TOPICS, MAX_SPTS = 2000, 5, 10
CONTENT_LIMIT, SUMMARY_LIMIT = 40000, 100
MARKDOWN = 3

# Meanings of business codes (the official Java SDK's enum; 1001 is a generic business error).
CODES = {
    1001: "WxPusher rejected the request",
    1002: "WxPusher rejected the app token",
    1003: "WxPusher rejected the signature",
    1004: "WxPusher does not know this endpoint",
    1005: "WxPusher had an internal error",
    1006: "WxPusher could not reach WeChat",
    1007: "WxPusher had a network error",
    1008: "WxPusher rejected the data",
}
TRANSIENT = {1005, 1006, 1007, 1009}


def _content(n: Notification) -> dict[str, object]:
    return {
        "content": render(n, "markdown", CONTENT_LIMIT),
        "summary": render_title(n, SUMMARY_LIMIT),
        "contentType": MARKDOWN,
    }


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)] or [[]]


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    """One request per 2000 UIDs / 5 topic ids; every request carries the same content."""
    body = {"appToken": dest.values["token"], **_content(n)}
    uids = list(dict.fromkeys(dest.values["uids"]))
    topics = [int(t) for t in dict.fromkeys(dest.values["topics"])]
    requests = []
    for uid_part in _chunks(uids, MAX_UIDS) if uids else []:
        requests.append(HttpRequest("POST", ENDPOINT, json={**body, "uids": uid_part}))
    for topic_part in _chunks(topics, MAX_TOPICS) if topics else []:
        requests.append(HttpRequest("POST", ENDPOINT, json={**body, "topicIds": topic_part}))
    return requests


def build_simple(n: Notification, dest: Destination) -> list[HttpRequest]:
    spts = list(dict.fromkeys(dest.values["spts"]))
    return [HttpRequest("POST", SIMPLE_ENDPOINT, json={**_content(n), "sptList": part})
            for part in _chunks(spts, MAX_SPTS)]


def judge(resp: HttpResponse) -> Verdict:
    """Success is body ``code == 1000``; each target's own code is checked too."""
    body, problem = json_body(resp, "WxPusher")
    if problem or body is None:
        return problem or Verdict("retry", "WxPusher sent no answer")
    code = body.get("code")
    if code != 1000:
        return refusal("WxPusher", CODES, code, body.get("msg"), TRANSIENT)
    failed = [d for d in body.get("data") or [] if isinstance(d, dict) and d.get("code") not in (1000, None)]
    if failed:
        total = len(body.get("data") or [])
        why = failed[0].get("status") or failed[0].get("code")
        return Verdict("delivered", f"{len(failed)} of {total} recipients refused ({why})")
    return Verdict("delivered")


_TOKEN = Field("token", "App token", r"AT_[A-Za-z0-9_-]+", "starts with AT_; from the WxPusher admin "
               "page, Application > App token", secret=True)
_UIDS = Field("uids", "UID", r"UID_[A-Za-z0-9_-]+", "starts with UID_; shown after you follow the app",
              secret=True, many=True)
_TOPICS = Field("topics", "Topic id", r"[1-9][0-9]{0,20}", "a number, from Topic management", many=True)

WXPUSHER = Provider(
    name="wxpusher", label="WxPusher", scheme="wxpusher", fields=(_TOKEN, _UIDS, _TOPICS),
    format="markdown", limit=CONTENT_LIMIT, unit="chars", title_limit=SUMMARY_LIMIT,
    build=build, judge=judge, rates=((2, 1.0), (20, 10.0)),
    token_hint="Create an application at wxpusher.zjiecode.com/admin to get an app token (AT_...); "
               "follow it in WeChat and copy your UID (UID_...) from the user list.",
    url_example="wxpusher://AT_xxx/UID_xxx",
)

WXPUSHER_SPT = Provider(
    name="wxpusher-spt", label="WxPusher simple push", scheme="wxpusher",
    fields=(Field("spts", "SPT", r"SPT_[A-Za-z0-9_-]+", "starts with SPT_; scan the SPT QR code on "
                  "wxpusher.zjiecode.com/docs", secret=True, many=True),),
    format="markdown", limit=CONTENT_LIMIT, unit="chars", title_limit=SUMMARY_LIMIT,
    build=build_simple, judge=judge, rates=((2, 1.0), (20, 10.0)),
    token_hint="Scan the simple-push QR code in the WxPusher docs with WeChat to get an SPT (SPT_...); "
               "no account needed.",
    url_example="wxpusher://SPT_xxx",
)
