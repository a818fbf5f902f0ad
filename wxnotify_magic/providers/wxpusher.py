"""WxPusher: standard send (app token + UIDs / topic ids) and SPT simple push."""

from __future__ import annotations

import itertools
import re
import time
from typing import Any

from ..i18n import tr
from ..message import Format, Notification, render, render_title
from .base import (
    APPRISE_OPTIONS,
    DAY,
    N_,
    Destination,
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
from .emulation import check_len as _check_len
from .emulation import text as _text
from .judging import json_body, refusal

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
              shape=r"AT_[A-Za-z0-9_-]{4,}", query=("token",), lead=("AT_",))
UIDS = Field("uids", N_("UID"), r"UID_[A-Za-z0-9_-]+", N_("starts with UID_; shown after you follow the app"),
             secret=True, many=True, shape=r"UID_[A-Za-z0-9_-]{4,}", query=("to",), lead=("UID_",), tail=False)
TOPICS = Field("topics", N_("Topic id"), r"[1-9][0-9]{0,20}", N_("a number, from Topic management"), many=True,
               query=("to",))
FORMAT = format_option(*CONTENT_TYPES)
SPTS = Field("spts", N_("SPT"), r"SPT_[A-Za-z0-9_-]+",
             N_("starts with SPT_; scan the SPT QR code on wxpusher.zjiecode.com/docs"), secret=True, many=True,
             shape=r"SPT_[A-Za-z0-9_-]{4,}", lead=("SPT_",))

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
    wechat=True, secret_query=("appToken",),
    example=Example("wxpusher://AT_test_token_0123456789abcdef/UID_test_a/42",
                    ("AT_test_token_0123456789abcdef", "UID_test_a"), 1001),
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
    wechat=True, secret_query=("spt",),
    example=Example("wxpusher://SPT_test_simple_a", ("SPT_test_simple_a",), 1001),
)

PROVIDERS = (WXPUSHER, WXPUSHER_SPT)


# ------------------------------------------------------------------------------------------ the local inbox
# How the inbox answers like the service (written from its documentation, apart from build and judge above).

_serials = itertools.count(int(time.time()) % 1_000_000 * 1000)


_JACKSON = "was expecting (JSON String, Number, Array, Object or token 'null', 'true' or 'false')"


def _wx_object(req: Request) -> JSON:
    """The JSON object body, or the 1005 error WxPusher gives for anything it cannot deserialize."""
    if isinstance(req.body, dict):
        return req.body
    token = _text(req.body).split(maxsplit=1)[0][:40] if _text(req.body).strip() else ""
    raise Reject(1005, f"接口 [{req.path}] 出现异常：Unrecognized token '{token}': {_JACKSON}")


def _wx_list(req: Request, body: JSON, name: str) -> list[Any]:
    """A list field (missing -> []); any other type is the 1005 deserialization error."""
    value = body.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise Reject(1005, f"接口 [{req.path}] 出现异常：Unrecognized token '{_text(value)[:40]}': "
                           f"{_JACKSON}")
    return value


def _wx_check_message(body: JSON) -> None:
    """Validate content, summary, url and contentType."""
    content = _text(body.get("content"))
    if not content:
        raise Reject(1001, "content不能为空")
    _check_len(content, 40000, 1001, "content长度不能超过40000")
    _check_len(_text(body.get("summary")), 100, 1001, "summary长度不能超过100")
    _check_len(_text(body.get("url")), 1000, 1001, "url长度不能超过1000")
    if body.get("contentType") is not None and str(body["contentType"]) not in {"1", "2", "3"}:
        raise Reject(1001, "contentType不合法，只能是1、2、3")


def _wx_target(content_id: int, uid: Any = None, topic_id: Any = None, ok: bool = True) -> JSON:
    """One per-target entry of a WxPusher send result."""
    return {
        "uid": uid,
        "topicId": topic_id,
        "messageId": content_id,
        "messageContentId": content_id,
        "sendRecordId": next(_serials) if ok else None,
        "code": 1000 if ok else 1001,
        "status": "创建发送任务成功" if ok else "uid不存在",
    }


def _wx_ok(data: list[JSON]) -> JSON:
    return {"code": 1000, "msg": "处理成功", "success": True, "data": data}


def _wx_error(code: int, msg: str) -> JSON:
    return {"code": code, "msg": msg, "success": False, "data": None}


def _wxpusher(req: Request) -> JSON:
    """POST /api/send/message."""
    body = _wx_object(req)
    uids, topics = _wx_list(req, body, "uids"), _wx_list(req, body, "topicIds")
    token = _text(body.get("appToken"))
    if not token:
        raise Reject(1001, "appToken不能为空")
    if not token.startswith("AT_") or "bad" in token.lower():
        raise Reject(1001, "appToken不正确")
    if not uids and not topics:
        raise Reject(1001, "uids和topicIds不能同时为空")
    _wx_check_message(body)
    if len(uids) > 2000:
        raise Reject(1001, "uids数量不能超过2000")
    if len(topics) > 5:
        raise Reject(1001, "topicIds数量不能超过5")
    content_id = next(_serials)
    users = [_wx_target(content_id, uid=u, ok="bad" not in _text(u).lower()) for u in uids]
    return _wx_ok(users + [_wx_target(content_id, topic_id=t) for t in topics])


def _wxpusher_spt(req: Request) -> JSON:
    """POST /api/send/message/simple-push."""
    body = _wx_object(req)
    spts = ([body["spt"]] if body.get("spt") else []) + _wx_list(req, body, "sptList")
    if not spts:
        raise Reject(1001, "spt和sptList不能同时为空")
    if len(spts) > 10:
        raise Reject(1001, "sptList数量不能超过10")
    if any(not _text(s).startswith("SPT_") or "bad" in _text(s).lower() for s in spts):
        raise Reject(1001, "SPT不正确")
    _wx_check_message(body)
    content_id = next(_serials)
    return _wx_ok([_wx_target(content_id, uid=s) for s in spts])


def _wx_text(req: Request) -> tuple[str, str]:
    body = req.body if isinstance(req.body, dict) else {}
    return _text(body.get("summary")), _text(body.get("content"))


def _wx_format(req: Request) -> str:
    """contentType 1 text (default), 2 HTML, 3 Markdown."""
    body = req.body if isinstance(req.body, dict) else {}
    return {"2": "html", "3": "markdown"}.get(_text(body.get("contentType")), "text")


_WX_MESSAGES = {1001: "业务异常错误", 1002: "未登录", 1003: "签名错误", 1004: "接口不存在",
                1005: "服务器内部错误", 1006: "微信服务异常", 1007: "网络异常", 1008: "数据异常",
                1009: "未知错误"}
INBOX = (
    Service("wxpusher", re.compile(r"/api/send/message/?"), POST, _wxpusher, _wx_error, _wx_text,
            _wx_format, 1001, _WX_MESSAGES),
    Service("wxpusher-spt", re.compile(r"/api/send/message/simple-push/?"), POST, _wxpusher_spt, _wx_error,
            _wx_text, _wx_format, 1001, _WX_MESSAGES),
)


# ------------------------------------------------------------------------------------------ its Chinese
# This service's own entries of the language table (i18n.py adds them when the provider registers).
ZH = {
    "every recipient refused it ({why})": "所有接收者都拒收了（{why}）",
    "WxPusher": "WxPusher",
    "WxPusher simple push": "WxPusher 极简推送",
    "App token": "应用令牌",
    "starts with AT_; from the WxPusher admin page, Application > App token":
        "以 AT_ 开头；即 WxPusher 管理后台“应用”页上的 appToken（应用令牌）",
    "UID": "UID",
    "starts with UID_; shown after you follow the app": "以 UID_ 开头；关注应用后即可看到",
    "Topic id": "主题 ID",
    "a number, from Topic management": "一个数字，在“主题管理”里",
    "SPT": "SPT",
    "starts with SPT_; scan the SPT QR code on wxpusher.zjiecode.com/docs":
        "以 SPT_ 开头；在 wxpusher.zjiecode.com/docs 扫描 SPT 二维码获取",
    "Create an application at wxpusher.zjiecode.com/admin to get an app token (AT_...); follow it in WeChat and copy "
    "your UID (UID_...) from the user list.":
        "在 wxpusher.zjiecode.com/admin 创建应用，得到应用令牌（AT_...）；用微信关注这个应用，"
        "再从用户列表里复制你的 UID（UID_...）。",
    "Scan the simple-push QR code in the WxPusher docs with WeChat to get an SPT (SPT_...); no account needed.":
        "用微信扫描 WxPusher 文档里的极简推送二维码，得到 SPT（SPT_...）；不需要注册账号。",
    "WxPusher rejected the request": "WxPusher 拒绝了请求",
    "WxPusher rejected the app token": "WxPusher 拒绝了应用令牌",
    "WxPusher rejected the signature": "WxPusher 拒绝了签名",
    "WxPusher does not know this endpoint": "WxPusher 不认识这个接口地址",
    "WxPusher had an internal error": "WxPusher 内部出错",
    "WxPusher could not reach WeChat": "WxPusher 连不上微信",
    "WxPusher had a network error": "WxPusher 网络出错",
    "WxPusher rejected the data": "WxPusher 拒绝了数据",
    "{failed} of {total} recipients refused ({why})": "{total} 个接收者中有 {failed} 个拒收（{why}）",
}
