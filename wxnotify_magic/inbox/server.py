"""The local inbox: an HTTP emulator of the push services' send APIs.

It answers each provider's API path as the real service does (success bodies, validation of fields and
limits, business error codes), records every request, injects faults on demand and serves a page that
shows what arrived like a phone's message list. Stdlib only.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import itertools
import json
import re
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any, cast
from urllib.parse import parse_qsl, urlsplit

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


# ---------------------------------------------------------------------------------------------------------
# PushPlus

_PUSHPLUS_TOKEN = re.compile(r"[A-Za-z0-9]{32}")
_PUSHPLUS_TEMPLATES = {"html", "txt", "json", "markdown", "cloudMonitor", "jenkins", "route", "pay", "form",
                       "doc", "excel"}
_PUSHPLUS_CHANNELS = {"wechat", "webhook", "cp", "mail", "sms", "extension", "voice", "app", "clawbot"}


def _pushplus_token(req: Request) -> str:
    return _text(req.groups[0] if req.groups and req.groups[0] else req.fields.get("token"))


def _pushplus(req: Request) -> JSON:
    """GET/POST /send and /send/{token}."""
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
    if _text(fields.get("channel") or "wechat") not in _PUSHPLUS_CHANNELS:
        raise Reject(999, "channel不正确")
    return {"code": 200, "msg": "请求成功", "data": uuid.uuid4().hex}


def _pushplus_error(code: int, msg: str) -> JSON:
    return {"code": code, "msg": msg, "data": None}


def _pushplus_text(req: Request) -> tuple[str, str]:
    return _text(req.fields.get("title")), _text(req.fields.get("content"))


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


# ---------------------------------------------------------------------------------------------------------
# WeCom group bot

_WECOM_LIMITS = {"text": 2048, "markdown": 4096, "markdown_v2": 4096}  # UTF-8 bytes
_WECOM_OTHER = {"image", "news", "file", "voice", "template_card"}


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
    elif msgtype not in _WECOM_OTHER:
        raise Reject(40008, "invalid message type")
    return {"errcode": 0, "errmsg": "ok"}


def _wecom_error(code: int, msg: str) -> JSON:
    hint = f"{int(time.time())}-{uuid.uuid4().hex[:6]}"
    more = f"more info at https://open.work.weixin.qq.com/devtool/query?e={code}"
    return {"errcode": code, "errmsg": f"{msg}, hint: [{hint}], {more}"}


def _wecom_text(req: Request) -> tuple[str, str]:
    return "", _wecom_content(req.body)


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
            1001, _WX_MESSAGES),
    Service("wxpusher-spt", re.compile(r"/api/send/message/simple-push/?"), _POST, _wxpusher_spt, _wx_error,
            _wx_text, 1001, _WX_MESSAGES),
    Service("pushplus", re.compile(r"/send(?:/([^/.]*))?/?"), frozenset({"GET", "POST", "PUT", "DELETE"}),
            _pushplus, _pushplus_error, _pushplus_text, 900,
            {302: "未登录", 401: "请求未授权", 403: "请求IP未授权", 500: "系统异常，请稍后再试",
             600: "数据异常，操作失败", 805: "无权查看", 888: "积分不足，需要充值",
             900: "请求次数过多,减少请求后2天恢复正常", 903: "无效的用户token",
             905: "账户未进行实名认证", 999: "服务端验证错误"}),
    Service("serverchan", re.compile(r"/([^/]*)\.send"), _GET_POST, _serverchan, _serverchan_error, _sc_text,
            40001, _SC_MESSAGES),
    Service("sc3", re.compile(r"/send/([^/]*)\.send"), _GET_POST, _sc3, _sc3_error, _sc_text,
            40001, _SC_MESSAGES),
    Service("wecombot", re.compile(r"/cgi-bin/webhook/send"), _POST, _wecombot, _wecom_error, _wecom_text,
            45009, {45009: "api freq out of limit", 93000: "invalid webhook url", 44004: "empty content",
                    40008: "invalid message type", 40058: "content exceed max length"}),
)
SERVICE_NAMES = tuple(s.name for s in SERVICES)


# ---------------------------------------------------------------------------------------------------------
# Faults

#: fault kind -> {param: converter}; params given to add_fault are converted (and checked) with these
FAULT_PARAMS: dict[str, dict[str, Callable[[Any], Any]]] = {
    "delay": {"seconds": float},
    "status": {"status": int, "retry_after": int, "body": str},
    "drop": {},
    "malformed": {"body": str},
    "code": {"code": int, "msg": str},
}
_FAULT_DEFAULTS: dict[str, JSON] = {"delay": {"seconds": 1.0}, "status": {"status": 500}}
_MALFORMED = "<html><head><title>502 Bad Gateway</title></head><body><h1>502 Bad Gateway</h1></body></html>"


@dataclass
class Fault:
    """A queued fault, consumed by the next `count` matching requests."""

    kind: str
    service: str | None
    count: int
    params: JSON


@dataclass
class Reply:
    """What the handler writes back; body None means: drop the connection."""

    status: int = 200
    body: bytes | None = b""
    content_type: str = "application/json; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


def _json_reply(value: Any, status: int = 200) -> Reply:
    return Reply(status, json.dumps(value, ensure_ascii=False).encode())


def _text_reply(text: str, status: int, content_type: str, headers: dict[str, str] | None = None) -> Reply:
    return Reply(status, text.encode(), f"{content_type}; charset=utf-8", headers or {})


def _fault_reply(service: Service, fault: Fault) -> tuple[Reply, Any]:
    """The reply of a failing fault (status, drop, malformed, code) and the response it records."""
    params = fault.params
    if fault.kind == "drop":
        return Reply(body=None), None
    if fault.kind == "code":
        code = params.get("code", service.fault_code)
        response = service.error(code, params.get("msg") or service.messages.get(code, "error"))
        return _json_reply(response), response
    if fault.kind == "malformed":
        text = params.get("body", _MALFORMED)
        return _text_reply(text, 200, "text/html"), text
    status = params["status"]
    text = params.get("body") or f"{status} {_phrase(status)}"
    headers = {"Retry-After": str(params["retry_after"])} if "retry_after" in params else {}
    return _text_reply(text, status, "text/plain", headers), text


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


# ---------------------------------------------------------------------------------------------------------
# Parsing and printing


def _parse_body(raw: bytes, content_type: str) -> Any:
    """A form dict for urlencoded bodies, else a JSON value, else the raw text (None when empty)."""
    if not raw:
        return None
    text = raw.decode("utf-8", "replace")
    if "application/x-www-form-urlencoded" in content_type:
        return dict(parse_qsl(text, keep_blank_values=True))
    try:
        return json.loads(text)
    except ValueError:
        return text


def _outcome(record: JSON) -> str:
    """A short note on why a message was not accepted ('' when it was)."""
    if record["accepted"]:
        return ""
    if record["fault"]:
        return f"  [fault: {record['fault']}]"
    response = record["response"] if isinstance(record["response"], dict) else {}
    code = response.get("code", response.get("errcode"))
    msg = response.get("msg") or response.get("message") or response.get("errmsg") or ""
    return f"  [rejected: {code} {msg}]"


def _format(record: JSON) -> str:
    """A received message as shown on the command line: a header line, then the content indented."""
    stamp = time.strftime("%H:%M:%S", time.localtime(record["time"]))
    title = " ".join(record["title"].split())
    header = "  ".join(part for part in (f"[{stamp}] {record['service']}", title) if part)
    lines = [header + _outcome(record)]
    lines += ["    " + line for line in record["content"].splitlines()]
    return "\n".join(lines)


@cache
def _page() -> bytes:
    return resources.files(__package__).joinpath("page.html").read_bytes()


# ---------------------------------------------------------------------------------------------------------
# The server


class Inbox:
    """A local emulator of the push services, serving in a background thread.

    >>> with Inbox() as inbox:  # doctest: +SKIP
    ...     os.environ["WXNOTIFY_API_BASE"] = inbox.url
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0, quiet: bool = True) -> None:
        self.host, self.port, self.quiet = host, port, quiet
        self._cond = threading.Condition()
        self._messages: list[JSON] = []
        self._faults: list[Fault] = []
        self._ids = itertools.count(1)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    # lifecycle

    def start(self) -> Inbox:
        """Bind and serve in a daemon thread; returns self."""
        if self._server is None:
            self._server = _Server((self.host, self.port), self)
            self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.01},
                                            name="wxnotify-inbox", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving, close open connections and the socket."""
        server, thread, self._server, self._thread = self._server, self._thread, None, None
        if server is not None:
            server.shutdown()
            server.close_connections()
            server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> Inbox:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:8787 (the value for WXNOTIFY_API_BASE)."""
        if self._server is None:
            raise RuntimeError("the inbox is not running; call start() first")
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    # messages and faults

    @property
    def messages(self) -> list[JSON]:
        """A copy of every recorded request, oldest first."""
        with self._cond:
            return copy.deepcopy(self._messages)

    def clear(self) -> None:
        """Forget recorded messages and pending faults."""
        with self._cond:
            self._messages.clear()
            self._faults.clear()

    def wait_for(self, n: int, timeout: float = 5.0) -> list[JSON]:
        """Wait until at least n messages are recorded and return them all."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._messages) >= n, timeout):
                got = len(self._messages)
                raise TimeoutError(f"expected {n} message(s) within {timeout} s, {got} arrived")
            return copy.deepcopy(self._messages)

    def add_fault(self, kind: str, service: str | None = None, count: int = 1, **params: Any) -> None:
        """Queue a fault for the next `count` requests to `service` (None: any service).

        Kinds and params: delay(seconds), status(status, retry_after, body), drop(), malformed(body),
        code(code, msg). Faults are consumed first in, first out.
        """
        if kind not in FAULT_PARAMS:
            raise ValueError(f"unknown fault kind {kind!r}; expected one of {', '.join(FAULT_PARAMS)}")
        if service is not None and service not in SERVICE_NAMES:
            raise ValueError(f"unknown service {service!r}; expected one of {', '.join(SERVICE_NAMES)}")
        if not isinstance(count, int) or isinstance(count, bool) or count < 1:
            raise ValueError(f"count must be a positive integer, not {count!r}")
        allowed = FAULT_PARAMS[kind]
        if unknown := sorted(set(params) - set(allowed)):
            raise ValueError(f"fault {kind!r} takes {sorted(allowed) or 'no params'}, not {unknown}")
        try:
            values = {**_FAULT_DEFAULTS.get(kind, {}), **{k: allowed[k](v) for k, v in params.items()}}
        except (TypeError, ValueError) as err:
            raise ValueError(f"bad params for fault {kind!r}: {err}") from None
        with self._cond:
            self._faults.append(Fault(kind, service, count, values))

    @property
    def faults(self) -> list[JSON]:
        """The pending faults, in the order they will be consumed."""
        with self._cond:
            return [{"kind": f.kind, "service": f.service, "count": f.count, **f.params}
                    for f in self._faults]

    def _take_fault(self, service: str) -> Fault | None:
        with self._cond:
            for fault in self._faults:
                if fault.service in (None, service):
                    fault.count -= 1
                    if fault.count == 0:
                        self._faults.remove(fault)
                    return fault
        return None

    # handling

    def handle(self, method: str, target: str, content_type: str, raw: bytes) -> Reply:
        """Answer one HTTP request (what the handler thread calls)."""
        split = urlsplit(target)
        path, query = split.path, dict(parse_qsl(split.query, keep_blank_values=True))
        body = _parse_body(raw, content_type)
        if path == "/" and method == "GET":
            return Reply(body=_page(), content_type="text/html; charset=utf-8")
        control = _CONTROL.get((method, path.rstrip("/")))
        if control is not None:
            return control(self, body)
        for service in SERVICES:
            match = service.path.fullmatch(path)
            if match and method in service.methods:
                return self._serve(service, Request(method, path, query, body, match.groups()))
        return _json_reply({"error": "not found", "method": method, "path": path}, 404)

    def _serve(self, service: Service, req: Request) -> Reply:
        received = time.time()
        fault = self._take_fault(service.name)
        if fault is None or fault.kind == "delay":
            response, accepted = service.respond(req)
            reply = _json_reply(response)
            reply.delay = fault.params["seconds"] if fault else 0.0
        else:
            reply, response = _fault_reply(service, fault)
            accepted = False
        self._record(service, req, received, accepted, response, fault)
        return reply

    def _record(self, service: Service, req: Request, received: float, accepted: bool, response: Any,
                fault: Fault | None) -> None:
        title, content = service.text(req)
        with self._cond:
            record = {"id": next(self._ids), "service": service.name, "time": received, "method": req.method,
                      "path": req.path, "query": req.query, "body": req.body, "title": title,
                      "content": content, "accepted": accepted, "response": response,
                      "fault": fault.kind if fault else None}
            self._messages.append(record)
            self._cond.notify_all()
        if not self.quiet:
            print(_format(record), flush=True)

    def _add_fault_json(self, body: Any) -> Reply:
        if not isinstance(body, dict):
            return _json_reply({"ok": False, "error": "expected a JSON object {kind, service?, ...}"}, 400)
        try:
            self.add_fault(**body)
        except (TypeError, ValueError) as err:
            return _json_reply({"ok": False, "error": str(err)}, 400)
        return _json_reply({"ok": True, "faults": self.faults})

    def _clear_json(self, body: Any) -> Reply:
        self.clear()
        return _json_reply({"ok": True})


_CONTROL: dict[tuple[str, str], Callable[[Inbox, Any], Reply]] = {
    ("GET", "/_inbox/health"): lambda inbox, body: _json_reply({"ok": True}),
    ("GET", "/_inbox/messages"): lambda inbox, body: _json_reply(inbox.messages),
    ("DELETE", "/_inbox/messages"): Inbox._clear_json,
    ("GET", "/_inbox/faults"): lambda inbox, body: _json_reply(inbox.faults),
    ("POST", "/_inbox/faults"): Inbox._add_fault_json,
}


class _Server(ThreadingHTTPServer):
    """A threading HTTP server that knows its Inbox and its open connections."""

    daemon_threads = True

    def __init__(self, address: tuple[str, int], inbox: Inbox) -> None:
        self.inbox = inbox
        self._open: set[socket.socket] = set()
        self._open_lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._open_lock:
            self._open.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._open_lock:
            self._open.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away (timeouts, dropped connections); report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def close_connections(self) -> None:
        """Shut down kept-alive connections so no handler answers after stop()."""
        with self._open_lock:
            for sock in self._open:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)


class _Handler(BaseHTTPRequestHandler):
    """Reads a request, lets the Inbox answer, writes the reply."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # keep-alive clients would wait ~40 ms per request otherwise
    wbufsize = 65536
    server_version = "wxnotify-inbox"

    def do_GET(self) -> None:
        try:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length > 0 else b""
            content_type = self.headers.get("Content-Type", "")
            reply = cast(_Server, self.server).inbox.handle(self.command, self.path, content_type, raw)
        except Exception as err:  # a bug or a broken request: answer, so it is not mistaken for a "drop" fault
            reply = _json_reply({"error": f"inbox error: {err!r}"}, 500)
        if reply.delay:
            time.sleep(reply.delay)
        if reply.body is None:
            self.close_connection = True
            return
        self.send_response(reply.status)
        for name, value in {"Content-Type": reply.content_type, **reply.headers}.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

    do_POST = do_PUT = do_DELETE = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the per-request access log."""


# ---------------------------------------------------------------------------------------------------------
# Command line


def main(argv: list[str] | None = None) -> int:
    """Run the inbox in the foreground until Ctrl-C or SIGTERM."""
    parser = argparse.ArgumentParser(prog="wxnotify inbox", description="Local emulator of push services.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8787, help="port (default 8787; 0 picks a free one)")
    parser.add_argument("--quiet", action="store_true", help="do not print received messages")
    args = parser.parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):
        sys.stdout.reconfigure(line_buffering=True, errors="replace")
    try:
        inbox = Inbox(args.host, args.port, quiet=args.quiet).start()
    except OSError as err:
        print(f"wxnotify inbox: cannot listen on {args.host}:{args.port}: {err}", file=sys.stderr)
        return 1
    in_main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler) if in_main else None
    try:
        print(f"wxnotify inbox listening on {inbox.url}  (export WXNOTIFY_API_BASE={inbox.url})", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        inbox.stop()
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    return 0
