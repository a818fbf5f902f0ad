"""WxPusher: standard send (app token + UIDs / topic ids) and SPT simple push."""

from __future__ import annotations

from ..i18n import tr
from ..message import Format, Notification, render, render_title
from .base import (
    APPRISE_OPTIONS,
    DAY,
    N_,
    Destination,
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

ENDPOINT = "https://wxpusher.zjiecode.com/api/send/message"
SIMPLE_ENDPOINT = "https://wxpusher.zjiecode.com/api/send/message/simple-push"
MAX_UIDS, MAX_TOPICS, MAX_SPTS = 2000, 5, 10
CONTENT_LIMIT, SUMMARY_LIMIT = 40000, 100
CONTENT_TYPES = {"text": 1, "html": 2, "markdown": 3}  # ?format= -> contentType (markdown when not given)
UID_DAILY = 500  # messages a day per UID (the seed article; the current docs give a soft 3000): be conservative

# Meanings of business codes (the official Java SDK's enum; 1001 is a generic business error).
CODES = {
    1001: N_("WxPusher rejected the request"),
    1002: N_("WxPusher rejected the app token"),
    1003: N_("WxPusher rejected the signature"),
    1004: N_("WxPusher does not know this endpoint"),
    1005: N_("WxPusher had an internal error"),
    1006: N_("WxPusher could not reach WeChat"),
    1007: N_("WxPusher had a network error"),
    1008: N_("WxPusher rejected the data"),
}
TRANSIENT = {1005, 1006, 1007, 1009}
RATES = (2, 1.0), (20, 10.0)  # about 20 calls in 10 s, 2 a second, per app token


def _content(n: Notification, dest: Destination) -> dict[str, object]:
    fmt: Format = dest.values.get("format") or "markdown"
    return {"content": render(n, fmt, CONTENT_LIMIT, with_title=False), "summary": render_title(n, SUMMARY_LIMIT),
            "contentType": CONTENT_TYPES[fmt]}


def _chunks(items: list, size: int) -> list[list]:
    return [items[i:i + size] for i in range(0, len(items), size)]


def build(n: Notification, dest: Destination) -> list[HttpRequest]:
    """One request per 2000 UIDs / 5 topic ids; every request carries the same content."""
    body = {"appToken": dest.values["token"], **_content(n, dest)}
    uids = list(dict.fromkeys(dest.values["uids"]))
    topics = [int(t) for t in dict.fromkeys(dest.values["topics"])]
    return ([HttpRequest("POST", ENDPOINT, json={**body, "uids": part}) for part in _chunks(uids, MAX_UIDS)]
            + [HttpRequest("POST", ENDPOINT, json={**body, "topicIds": part}) for part in _chunks(topics, MAX_TOPICS)])


def build_simple(n: Notification, dest: Destination) -> list[HttpRequest]:
    spts = list(dict.fromkeys(dest.values["spts"]))
    return [HttpRequest("POST", SIMPLE_ENDPOINT, json={**_content(n, dest), "sptList": part})
            for part in _chunks(spts, MAX_SPTS)]


def judge(resp: HttpResponse) -> Verdict:
    """Success is body ``code == 1000``; each target's own code is checked too."""
    body, problem = json_body(resp, "WxPusher")
    if problem or body is None:
        return problem or Verdict("retry", tr("{service} sent no answer", service="WxPusher"))
    code = body.get("code")
    if code != 1000:
        return refusal("WxPusher", CODES, code, body.get("msg"), TRANSIENT)
    data: list = body["data"] if isinstance(body.get("data"), list) else []
    failed = [d for d in data if isinstance(d, dict) and d.get("code") not in (1000, None)]
    if failed:
        why = failed[0].get("status") or failed[0].get("code")
        if len(failed) == len(data):  # nobody gets it: a failure, not a delivery with a note
            return Verdict("permanent", tr("every recipient refused it ({why})", why=why))
        return Verdict("delivered", tr("{failed} of {total} recipients refused ({why})", failed=len(failed),
                                       total=len(data), why=why))
    return Verdict("delivered")


def _is_spt_url(url: str) -> bool:
    rest = url.split("://", 1)[1] if "://" in url else ""
    return rest.upper().startswith("SPT_")


# The URL forms are apprise's: wxpusher://AT_x/UID_a,UID_b/123, wxpusher://UID_a?token=AT_x, ?to=UID_a,123.
TOKEN = Field("token", N_("App token"), r"AT_[A-Za-z0-9_-]+",
              N_("starts with AT_; from the WxPusher admin page, Application > App token"), secret=True,
              shape=r"AT_[A-Za-z0-9_-]{4,}", query=("token",))
UIDS = Field("uids", N_("UID"), r"UID_[A-Za-z0-9_-]+", N_("starts with UID_; shown after you follow the app"),
             secret=True, many=True, shape=r"UID_[A-Za-z0-9_-]{4,}", query=("to",))
TOPICS = Field("topics", N_("Topic id"), r"[1-9][0-9]{0,20}", N_("a number, from Topic management"), many=True,
               query=("to",))
FORMAT = format_option(*CONTENT_TYPES)
SPTS = Field("spts", N_("SPT"), r"SPT_[A-Za-z0-9_-]+",
             N_("starts with SPT_; scan the SPT QR code on wxpusher.zjiecode.com/docs"), secret=True, many=True,
             shape=r"SPT_[A-Za-z0-9_-]{4,}")

WXPUSHER = Provider(
    name="wxpusher", label=N_("WxPusher"), scheme="wxpusher", fields=(TOKEN, UIDS, TOPICS),
    format="markdown", limit=CONTENT_LIMIT, unit="chars", title_limit=SUMMARY_LIMIT,
    build=build, judge=judge,
    limits=(*(Limit("token", n, s) for n, s in RATES), Limit("uids", UID_DAILY, DAY, name="wxpusher")),
    hint=N_("Create an application at wxpusher.zjiecode.com/admin to get an app token (AT_...); follow it in "
            "WeChat and copy your UID (UID_...) from the user list."),
    hint_url="https://wxpusher.zjiecode.com/admin/",
    url_example="wxpusher://AT_xxx/UID_xxx",
    options=(FORMAT, *APPRISE_OPTIONS),
    claims=lambda url: url.lower().startswith("wxpusher://") and not _is_spt_url(url),
)

WXPUSHER_SPT = Provider(
    name="wxpusher-spt", label=N_("WxPusher simple push"), scheme="wxpusher", fields=(SPTS,),
    format="markdown", limit=CONTENT_LIMIT, unit="chars", title_limit=SUMMARY_LIMIT,
    build=build_simple, judge=judge, limits=tuple(Limit("spts", n, s) for n, s in RATES),
    hint=N_("Scan the simple-push QR code in the WxPusher docs with WeChat to get an SPT (SPT_...); "
            "no account needed."),
    hint_url="https://wxpusher.zjiecode.com/docs/#/?id=spt",
    url_example="wxpusher://SPT_xxx",
    options=(FORMAT, *APPRISE_OPTIONS),
    claims=lambda url: url.lower().startswith("wxpusher://") and _is_spt_url(url),
)

PROVIDERS = (WXPUSHER, WXPUSHER_SPT)
