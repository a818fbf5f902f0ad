"""How the inbox emulates each push service: its paths, the validation of its fields and limits, and its
success and business-error bodies. Pure functions from a parsed request to the JSON the service answers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import itertools
import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

JSON = dict[str, Any]
_serials = itertools.count(int(time.time()) % 1_000_000 * 1000)

# ---------------------------------------------------------------------------------------------------------
# Requests and business errors


@dataclass(frozen=True)
class Request:
    """One request to a service path, parsed."""

    method: str
    path: str
    query: dict[str, str]
    body: Any  # a JSON value, a form dict, raw text, or None when empty
    groups: tuple[str | None, ...] = ()  # captures of the service's path pattern

    @property
    def fields(self) -> dict[str, Any]:
        """Query parameters overlaid by a dict body (for services that read both)."""
        return {**self.query, **(self.body if isinstance(self.body, dict) else {})}


class Reject(Exception):
    """A business error: the service answers HTTP 200 with this code and message."""

    def __init__(self, code: int, msg: str) -> None:
        super().__init__(code, msg)
        self.code, self.msg = code, msg


def _text(value: Any) -> str:
    """A field as text: '' for None, JSON for non-strings."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _check_len(value: str, limit: int, code: int, msg: str) -> None:
    """Reject when value is longer than limit characters."""
    if len(value) > limit:
        raise Reject(code, msg)


# ---------------------------------------------------------------------------------------------------------
# WxPusher (standard and SPT simple push)

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


# ---------------------------------------------------------------------------------------------------------
# PushPlus

_PUSHPLUS_TOKEN = re.compile(r"[A-Za-z0-9]{32}")
_PUSHPLUS_TEMPLATES = {"html", "txt", "json", "markdown", "cloudMonitor", "jenkins", "route", "pay", "form",
                       "doc", "excel"}
_PUSHPLUS_CHANNELS = {"wechat", "webhook", "cp", "mail", "sms", "extension", "voice", "app", "clawbot", "cmcc", "qq"}


def _pushplus_token(req: Request) -> str:
    return _text(req.groups[0] if req.groups and req.groups[0] else req.fields.get("token"))


def _pushplus(req: Request) -> JSON:
    """GET/POST /send, /send/{token} and /batchSend."""
    fields, token = req.fields, _pushplus_token(req)
    if not _PUSHPLUS_TOKEN.fullmatch(token) or "bad" in token.lower():
        raise Reject(903, "无效的用户token")
    content = _text(fields.get("content"))
    if not content:
        raise Reject(999, "content不能为空")
    _check_len(content, 20000, 999, "content长度不能超过20000")
    _check_len(_text(fields.get("title")), 100, 999, "title长度不能超过100")
    if _text(fields.get("template") or "html") not in _PUSHPLUS_TEMPLATES:
        raise Reject(999, "template不正确")
    channels = _text(fields.get("channel") or "wechat").split(",")  # /batchSend takes several
    if any(c not in _PUSHPLUS_CHANNELS for c in channels) or (len(channels) > 1 and "batchSend" not in req.path):
        raise Reject(999, "channel不正确")
    return {"code": 200, "msg": "请求成功", "data": uuid.uuid4().hex}


def _pushplus_error(code: int, msg: str) -> JSON:
    return {"code": code, "msg": msg, "data": None}


def _pushplus_text(req: Request) -> tuple[str, str]:
    return _text(req.fields.get("title")), _text(req.fields.get("content"))


def _pushplus_format(req: Request) -> str:
    """template html (default), markdown, txt, json; the other templates are shown as text."""
    template = _text(req.fields.get("template") or "html")
    return {"html": "html", "markdown": "markdown", "json": "json"}.get(template, "text")


# ---------------------------------------------------------------------------------------------------------
# ServerChan Turbo and ServerChan³


def _sc_check(fields: dict[str, Any], title_max: int, title_required: bool) -> None:
    """Validate title (or its alias text), desp and short."""
    title = _text(fields.get("title") or fields.get("text"))
    if title_required and not title:
        raise Reject(40002, "title is required")
    _check_len(title, title_max, 40002, f"title too long (max {title_max})")
    if len(_text(fields.get("desp")).encode()) > 32 * 1024:
        raise Reject(40002, "desp too long (max 32KB)")
    _check_len(_text(fields.get("short")), 64, 40002, "short too long (max 64)")


def _serverchan(req: Request) -> JSON:
    """GET/POST /{SENDKEY}.send."""
    key = _text(req.groups[0])
    if not key or "bad" in key.lower():
        raise Reject(40001, "bad pushkey")
    _sc_check(req.fields, 32, title_required=True)
    readkey = uuid.uuid4().hex[:14]
    return {"code": 0, "message": "", "data": {"pushid": str(next(_serials)), "readkey": readkey,
                                              "error": "SUCCESS", "errno": 0}}


def _serverchan_error(code: int, msg: str) -> JSON:
    return {"code": code, "message": msg, "data": None}


def _sc3(req: Request) -> JSON:
    """GET/POST /send/{sendkey}.send."""
    key = _text(req.groups[0])
    if not re.match(r"sctp(\d+)t", key) or "bad" in key.lower():
        raise Reject(40001, "bad sendkey")
    fields = req.fields
    _sc_check(fields, 1000, title_required=not fields.get("desp"))
    return {"code": 0, "message": "SUCCESS", "errno": 0, "data": {"pushid": str(next(_serials)), "meta": {}}}


def _sc3_error(code: int, msg: str) -> JSON:
    return {"code": code, "message": msg, "errno": code, "data": None}


def _sc_text(req: Request) -> tuple[str, str]:
    fields = req.fields
    return _text(fields.get("title") or fields.get("text")), _text(fields.get("desp"))


def _sc_format(req: Request) -> str:
    """desp is Markdown."""
    return "markdown"


# ---------------------------------------------------------------------------------------------------------
# WeCom group bot

_WECOM_LIMITS = {"text": 2048, "markdown": 4096, "markdown_v2": 4096}  # UTF-8 bytes
_WECOM_OTHER = {"news", "file", "voice", "template_card"}
_WECOM_IMAGE_MAX = 2 * 1024 * 1024  # bytes, before base64
_IMAGE_MAGIC = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}


def image_type(raw: bytes) -> str | None:
    """``image/png`` or ``image/jpeg`` from the file's first bytes, else None."""
    return next((mime for magic, mime in _IMAGE_MAGIC.items() if raw.startswith(magic)), None)


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
    if image_type(raw) is None:
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


# ---------------------------------------------------------------------------------------------------------
# The table of services


@dataclass(frozen=True)
class Service:
    """How the inbox emulates one push service."""

    name: str
    path: re.Pattern[str]
    methods: frozenset[str]
    answer: Callable[[Request], JSON]  # the success body; raises Reject
    error: Callable[[int, str], JSON]  # the business error body
    text: Callable[[Request], tuple[str, str]]  # (title, content) as recorded
    format: Callable[[Request], str]  # how the phone shows the content: text, markdown, html, json, image
    fault_code: int  # default business code of a "code" fault
    messages: dict[int, str] = field(default_factory=dict)  # known messages of business codes

    def respond(self, req: Request) -> tuple[JSON, bool]:
        """The JSON body the service answers, and whether it accepted the message."""
        try:
            return self.answer(req), True
        except Reject as err:
            return self.error(err.code, err.msg), False


_POST, _GET_POST = frozenset({"POST"}), frozenset({"GET", "POST"})
_WX_MESSAGES = {1001: "业务异常错误", 1002: "未登录", 1003: "签名错误", 1004: "接口不存在",
                1005: "服务器内部错误", 1006: "微信服务异常", 1007: "网络异常", 1008: "数据异常",
                1009: "未知错误"}
_SC_MESSAGES = {40001: "bad pushkey", 40002: "bad params"}

SERVICES: tuple[Service, ...] = (
    Service("wxpusher", re.compile(r"/api/send/message/?"), _POST, _wxpusher, _wx_error, _wx_text,
            _wx_format, 1001, _WX_MESSAGES),
    Service("wxpusher-spt", re.compile(r"/api/send/message/simple-push/?"), _POST, _wxpusher_spt, _wx_error,
            _wx_text, _wx_format, 1001, _WX_MESSAGES),
    Service("pushplus", re.compile(r"/(?:send|batchSend)(?:/([^/.]*))?/?"), frozenset({"GET", "POST", "PUT", "DELETE"}),
            _pushplus, _pushplus_error, _pushplus_text, _pushplus_format, 900,
            {302: "未登录", 401: "请求未授权", 403: "请求IP未授权", 500: "系统异常，请稍后再试",
             600: "数据异常，操作失败", 805: "无权查看", 888: "积分不足，需要充值",
             900: "请求次数过多,减少请求后2天恢复正常", 903: "无效的用户token",
             905: "账户未进行实名认证", 999: "服务端验证错误"}),
    Service("serverchan", re.compile(r"/([^/]*)\.send"), _GET_POST, _serverchan, _serverchan_error, _sc_text,
            _sc_format, 40001, _SC_MESSAGES),
    Service("sc3", re.compile(r"/send/([^/]*)\.send"), _GET_POST, _sc3, _sc3_error, _sc_text,
            _sc_format, 40001, _SC_MESSAGES),
    Service("wecombot", re.compile(r"/cgi-bin/webhook/send"), _POST, _wecombot, _wecom_error, _wecom_text,
            _wecom_format, 45009,
            {45009: "api freq out of limit", 93000: "invalid webhook url", 44004: "empty content",
             40008: "invalid message type", 40058: "content exceed max length", 44001: "empty media data",
             40005: "invalid file type", 40009: "invalid image size", 301019: "media md5 not match"}),
)
SERVICE_NAMES = tuple(s.name for s in SERVICES)
