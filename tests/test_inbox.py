"""The local inbox, tested over real HTTP with requests."""

from __future__ import annotations

import base64
import hashlib
import re
import signal
import struct
import subprocess
import sys
import threading
import time
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from wxnotify_magic.inbox import Inbox

PP_TOKEN = "0123456789abcdef0123456789ABCDEF"
WX_BASE = {"appToken": "AT_test", "content": "done", "uids": ["UID_a"]}
ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def server() -> Iterator[Inbox]:
    with Inbox() as inbox:
        yield inbox


@pytest.fixture
def inbox(server: Inbox) -> Inbox:
    server.clear()
    return server


def post(inbox: Inbox, path: str, **kwargs: Any) -> Any:
    """POST, check HTTP 200, return the JSON body."""
    response = requests.post(inbox.url + path, timeout=5, **kwargs)
    assert response.status_code == 200
    return response.json()


# --- WxPusher --------------------------------------------------------------------------------------------


def test_wxpusher_success_one_entry_per_target_in_order(inbox: Inbox) -> None:
    body = {**WX_BASE, "summary": "Training done", "content": "loss 0.1\n<b>x</b>", "contentType": 2,
            "uids": ["UID_a", "UID_b"], "topicIds": [42]}
    result = post(inbox, "/api/send/message", json=body)
    assert (result["code"], result["msg"], result["success"]) == (1000, "处理成功", True)
    assert [(d["uid"], d["topicId"], d["code"]) for d in result["data"]] == [
        ("UID_a", None, 1000), ("UID_b", None, 1000), (None, 42, 1000)]
    assert {d["status"] for d in result["data"]} == {"创建发送任务成功"}
    assert len({d["messageContentId"] for d in result["data"]}) == 1
    assert len({d["sendRecordId"] for d in result["data"]}) == 3
    [record] = inbox.messages
    assert record["id"] >= 1 and abs(record["time"] - time.time()) < 5
    assert {k: record[k] for k in ("service", "method", "path", "query", "body", "title", "content")} == {
        "service": "wxpusher", "method": "POST", "path": "/api/send/message", "query": {}, "body": body,
        "title": "Training done", "content": "loss 0.1\n<b>x</b>"}
    assert record["accepted"] is True and record["response"] == result and record["fault"] is None


def test_wxpusher_bad_uid_gets_its_own_code(inbox: Inbox) -> None:
    result = post(inbox, "/api/send/message", json={**WX_BASE, "uids": ["UID_a", "UID_bad", "UID_c"]})
    assert result["code"] == 1000
    assert [(d["code"], d["status"]) for d in result["data"]] == [
        (1000, "创建发送任务成功"), (1001, "uid不存在"), (1000, "创建发送任务成功")]


@pytest.mark.parametrize(("body", "code", "msg"), [
    ({**WX_BASE, "appToken": ""}, 1001, "appToken"),
    ({k: v for k, v in WX_BASE.items() if k != "appToken"}, 1001, "appToken"),
    ({**WX_BASE, "appToken": "xx_test"}, 1001, "appToken"),
    ({**WX_BASE, "appToken": "AT_BAD_token"}, 1001, "appToken"),
    ({**WX_BASE, "uids": []}, 1001, "uids"),
    ({**WX_BASE, "content": ""}, 1001, "content"),
    ({**WX_BASE, "content": "x" * 40001}, 1001, "content"),
    ({**WX_BASE, "summary": "s" * 101}, 1001, "summary"),
    ({**WX_BASE, "uids": [f"UID_{i}" for i in range(2001)]}, 1001, "uids"),
    ({**WX_BASE, "topicIds": [1, 2, 3, 4, 5, 6]}, 1001, "topicIds"),
    ({**WX_BASE, "uids": "UID_a"}, 1005, "接口 [/api/send/message] 出现异常：Unrecognized token"),
    ("{not json", 1005, "接口 [/api/send/message] 出现异常：Unrecognized token '{not"),
])
def test_wxpusher_validation_errors(inbox: Inbox, body: Any, code: int, msg: str) -> None:
    kwargs = {"data": body, "headers": {"Content-Type": "application/json"}} if isinstance(body, str) else {
        "json": body}
    result = post(inbox, "/api/send/message", **kwargs)
    assert (result["code"], result["success"], result["data"]) == (code, False, None)
    assert msg in result["msg"]
    assert inbox.messages[0]["accepted"] is False


def test_wxpusher_content_limits_are_inclusive(inbox: Inbox) -> None:
    body = {**WX_BASE, "content": "x" * 40000, "summary": "s" * 100, "uids": ["UID_a"] * 2000,
            "topicIds": [1, 2, 3, 4, 5]}
    assert post(inbox, "/api/send/message", json=body)["code"] == 1000


def test_wxpusher_simple_push(inbox: Inbox) -> None:
    result = post(inbox, "/api/send/message/simple-push",
                  json={"content": "c", "summary": "t", "spt": "SPT_a", "sptList": ["SPT_b", "SPT_c"]})
    assert (result["code"], result["success"]) == (1000, True)
    assert [(d["uid"], d["code"]) for d in result["data"]] == [("SPT_a", 1000), ("SPT_b", 1000), ("SPT_c", 1000)]
    [record] = inbox.messages
    assert (record["service"], record["title"], record["content"]) == ("wxpusher-spt", "t", "c")


@pytest.mark.parametrize(("body", "code"), [
    ({"content": "c"}, 1001),
    ({"content": "c", "spt": "XYZ_a"}, 1001),
    ({"content": "c", "spt": "SPT_bad"}, 1001),
    ({"content": "c", "sptList": [f"SPT_{i}" for i in range(11)]}, 1001),
    ({"spt": "SPT_a"}, 1001),
    ({"content": "c", "sptList": "SPT_a"}, 1005),
])
def test_wxpusher_simple_push_errors(inbox: Inbox, body: Any, code: int) -> None:
    result = post(inbox, "/api/send/message/simple-push", json=body)
    assert (result["code"], result["success"], result["data"]) == (code, False, None)


# --- PushPlus --------------------------------------------------------------------------------------------


def test_pushplus_json_success(inbox: Inbox) -> None:
    body = {"token": PP_TOKEN, "title": "T", "content": "<p>hi</p>", "template": "html", "channel": "wechat"}
    result = post(inbox, "/send", json=body)
    assert (result["code"], result["msg"]) == (200, "请求成功")
    assert re.fullmatch(r"[0-9a-f]{32}", result["data"])
    [record] = inbox.messages
    assert (record["service"], record["title"], record["content"], record["body"]) == (
        "pushplus", "T", "<p>hi</p>", body)


def test_pushplus_token_in_path_and_fields_in_query(inbox: Inbox) -> None:
    response = requests.get(f"{inbox.url}/send/{PP_TOKEN}", params={"title": "T", "content": "c"}, timeout=5)
    assert response.json()["code"] == 200
    [record] = inbox.messages
    assert (record["method"], record["path"], record["query"]) == (
        "GET", f"/send/{PP_TOKEN}", {"title": "T", "content": "c"})
    assert (record["title"], record["content"]) == ("T", "c")


@pytest.mark.parametrize(("body", "code"), [
    ({"token": "bad" + PP_TOKEN[3:], "content": "c"}, 903),
    ({"token": "short", "content": "c"}, 903),
    ({"content": "c"}, 903),
    ({"token": PP_TOKEN}, 999),
    ({"token": PP_TOKEN, "content": "x" * 20001}, 999),
    ({"token": PP_TOKEN, "content": "c", "title": "t" * 101}, 999),
    ({"token": PP_TOKEN, "content": "c", "template": "text"}, 999),
])
def test_pushplus_errors(inbox: Inbox, body: Any, code: int) -> None:
    result = post(inbox, "/send", json=body)
    assert result["code"] == code and result["data"] is None and result["msg"]
    if code == 903:
        assert result == {"code": 903, "msg": "无效的用户token", "data": None}


# --- ServerChan ------------------------------------------------------------------------------------------


def test_serverchan_turbo_form_success(inbox: Inbox) -> None:
    result = post(inbox, "/SCT123abc.send", data={"title": "Done", "desp": "**ok**"})
    assert (result["code"], result["message"]) == (0, "")
    assert result["data"]["error"] == "SUCCESS" and result["data"]["errno"] == 0
    assert result["data"]["pushid"] and result["data"]["readkey"]
    [record] = inbox.messages
    assert (record["service"], record["path"], record["body"]) == (
        "serverchan", "/SCT123abc.send", {"title": "Done", "desp": "**ok**"})
    assert (record["title"], record["content"]) == ("Done", "**ok**")


def test_serverchan_turbo_get_and_json(inbox: Inbox) -> None:
    assert requests.get(f"{inbox.url}/SCT1.send", params={"title": "g"}, timeout=5).json()["code"] == 0
    assert post(inbox, "/SCT1.send", json={"title": "j", "desp": "d"})["code"] == 0
    assert [m["title"] for m in inbox.messages] == ["g", "j"]


@pytest.mark.parametrize(("path", "body"), [
    ("/SCTbad.send", {"title": "t"}),
    ("/SCT1.send", {"desp": "no title"}),
    ("/SCT1.send", {"title": "t" * 33}),
])
def test_serverchan_turbo_errors(inbox: Inbox, path: str, body: Any) -> None:
    result = post(inbox, path, data=body)
    assert result["code"] != 0 and result["message"] and result["data"] is None


def test_serverchan3(inbox: Inbox) -> None:
    result = post(inbox, "/send/sctp123tabc.send", json={"title": "T", "desp": "d", "tags": "a|b"})
    assert (result["code"], result["message"], result["errno"]) == (0, "SUCCESS", 0)
    assert result["data"]["pushid"] and result["data"]["meta"] == {}
    assert inbox.messages[0]["service"] == "sc3"
    assert post(inbox, "/send/sctp123tbad.send", json={"title": "T"})["code"] != 0
    assert post(inbox, "/send/sct123.send", json={"title": "T"})["code"] != 0
    assert post(inbox, "/send/sctp1tk.send", json={"tags": "x"})["code"] != 0


# --- WeCom group bot -------------------------------------------------------------------------------------


@pytest.mark.parametrize("msgtype", ["text", "markdown", "markdown_v2"])
def test_wecombot_success(inbox: Inbox, msgtype: str) -> None:
    body = {"msgtype": msgtype, msgtype: {"content": "# Done\nok"}}
    assert post(inbox, "/cgi-bin/webhook/send?key=k-1", json=body) == {"errcode": 0, "errmsg": "ok"}
    [record] = inbox.messages
    assert (record["service"], record["query"], record["title"], record["content"]) == (
        "wecombot", {"key": "k-1"}, "", "# Done\nok")


def test_wecombot_limits_are_utf8_bytes(inbox: Inbox) -> None:
    url = "/cgi-bin/webhook/send?key=k"
    ok = post(inbox, url, json={"msgtype": "text", "text": {"content": "好" * 682 + "xx"}})  # 2048 bytes
    assert ok["errcode"] == 0
    over = post(inbox, url, json={"msgtype": "text", "text": {"content": "好" * 683}})  # 2049 bytes
    assert over["errcode"] == 40058 and "exceed max length" in over["errmsg"]
    md = post(inbox, url, json={"msgtype": "markdown", "markdown": {"content": "好" * 1366}})  # 4098 bytes
    assert md["errcode"] == 40058


@pytest.mark.parametrize(("query", "body", "errcode"), [
    ("", {"msgtype": "text", "text": {"content": "x"}}, 93000),
    ("?key=", {"msgtype": "text", "text": {"content": "x"}}, 93000),
    ("?key=a-BAD-key", {"msgtype": "text", "text": {"content": "x"}}, 93000),
    ("?key=k", {"msgtype": "sms", "sms": {"content": "x"}}, 40008),
    ("?key=k", {"text": {"content": "x"}}, 40008),
])
def test_wecombot_errors(inbox: Inbox, query: str, body: Any, errcode: int) -> None:
    result = post(inbox, "/cgi-bin/webhook/send" + query, json=body)
    assert result["errcode"] == errcode
    if errcode == 93000:
        assert result["errmsg"].startswith("invalid webhook url, hint: [")


def png(width: int = 2, height: int = 2, rgb: tuple[int, int, int] = (7, 193, 96)) -> bytes:
    """A real PNG image of one colour (stdlib only)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(b"\x00" + bytes(rgb) * width for _ in range(height))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")


def image_body(raw: bytes, md5: str | None = None) -> dict[str, Any]:
    return {"msgtype": "image", "image": {"base64": base64.b64encode(raw).decode(),
                                          "md5": md5 if md5 is not None else hashlib.md5(raw).hexdigest()}}


TWO_MB = 2 * 1024 * 1024


@pytest.mark.parametrize("raw", [png(), b"\xff\xd8\xff\xe0" + b"\0" * 100,
                                 b"\x89PNG\r\n\x1a\n" + b"\0" * (TWO_MB - 8)], ids=["png", "jpeg", "2MB"])
def test_wecombot_image_accepted(inbox: Inbox, raw: bytes) -> None:
    body = image_body(raw)
    assert post(inbox, "/cgi-bin/webhook/send?key=k", json=body) == {"errcode": 0, "errmsg": "ok"}
    [record] = inbox.messages
    assert record["accepted"] and record["format"] == "image" and record["body"] == body


@pytest.mark.parametrize(("body", "errcode", "errmsg"), [
    (image_body(png(), md5="0" * 32), 301019, "media md5 not match"),
    (image_body(png(), md5=""), 301019, "media md5 not match"),
    (image_body(b"\x89PNG\r\n\x1a\n" + b"\0" * (TWO_MB - 7)), 40009, "invalid image size"),
    (image_body(b"GIF89a" + b"\0" * 20), 40005, "invalid file type"),
    ({"msgtype": "image", "image": {"base64": "not base64!", "md5": "0" * 32}}, 40005, "invalid file type"),
    ({"msgtype": "image", "image": {"base64": "", "md5": ""}}, 44001, "empty media data"),
    ({"msgtype": "image"}, 44001, "empty media data"),
    ({"msgtype": "image", "image": "abc"}, 44001, "empty media data"),
], ids=["md5", "no-md5", "over-2MB", "gif", "bad-base64", "empty", "missing", "not-object"])
def test_wecombot_image_errors(inbox: Inbox, body: Any, errcode: int, errmsg: str) -> None:
    result = post(inbox, "/cgi-bin/webhook/send?key=k", json=body)
    assert result["errcode"] == errcode and result["errmsg"].startswith(errmsg + ", hint: [")
    assert inbox.messages[0]["accepted"] is False


@pytest.mark.parametrize(("path", "body", "fmt"), [
    ("/api/send/message", {**WX_BASE}, "text"),
    ("/api/send/message", {**WX_BASE, "contentType": 2}, "html"),
    ("/api/send/message", {**WX_BASE, "contentType": "3"}, "markdown"),
    ("/api/send/message/simple-push", {"content": "c", "spt": "SPT_a", "contentType": 3}, "markdown"),
    ("/send", {"token": PP_TOKEN, "content": "c"}, "html"),
    ("/send", {"token": PP_TOKEN, "content": "c", "template": "markdown"}, "markdown"),
    ("/send", {"token": PP_TOKEN, "content": "c", "template": "txt"}, "text"),
    ("/send", {"token": PP_TOKEN, "content": "{}", "template": "json"}, "json"),
    ("/SCT1.send", {"title": "t", "desp": "d"}, "markdown"),
    ("/send/sctp1tk.send", {"title": "t", "desp": "d"}, "markdown"),
    ("/cgi-bin/webhook/send?key=k", {"msgtype": "text", "text": {"content": "c"}}, "text"),
    ("/cgi-bin/webhook/send?key=k", {"msgtype": "markdown", "markdown": {"content": "c"}}, "markdown"),
    ("/cgi-bin/webhook/send?key=k", {"msgtype": "markdown_v2", "markdown_v2": {"content": "c"}}, "markdown"),
    ("/cgi-bin/webhook/send?key=k", {"msgtype": "news", "news": {"articles": []}}, "json"),
])
def test_each_message_records_how_its_service_shows_it(inbox: Inbox, path: str, body: Any, fmt: str) -> None:
    post(inbox, path, json=body)
    assert inbox.messages[0]["format"] == fmt


def test_unknown_path_is_404_json(inbox: Inbox) -> None:
    response = requests.post(inbox.url + "/nope", json={}, timeout=5)
    assert response.status_code == 404 and response.json()["path"] == "/nope"
    assert requests.get(inbox.url + "/api/send/message", timeout=5).status_code == 404
    assert inbox.messages == []


# --- Faults ----------------------------------------------------------------------------------------------


def test_fault_delay_then_normal_answer(inbox: Inbox) -> None:
    inbox.add_fault("delay", seconds=0.25)
    start = time.perf_counter()
    result = post(inbox, "/send", json={"token": PP_TOKEN, "content": "c"})
    assert time.perf_counter() - start >= 0.25 and result["code"] == 200
    [record] = inbox.messages
    assert record["accepted"] is True and record["fault"] == "delay"


def test_fault_status_with_retry_after(inbox: Inbox) -> None:
    inbox.add_fault("status", status=429, retry_after=7)
    inbox.add_fault("status")
    first = requests.post(inbox.url + "/api/send/message", json=WX_BASE, timeout=5)
    second = requests.post(inbox.url + "/api/send/message", json=WX_BASE, timeout=5)
    assert first.status_code == 429 and first.headers["Retry-After"] == "7"
    assert second.status_code == 500 and "Retry-After" not in second.headers and second.text
    assert [(m["accepted"], m["fault"]) for m in inbox.messages] == [(False, "status"), (False, "status")]


def test_fault_drop_closes_the_connection(inbox: Inbox) -> None:
    inbox.add_fault("drop", service="serverchan")
    with pytest.raises(requests.ConnectionError):
        requests.post(inbox.url + "/SCT1.send", data={"title": "t"}, timeout=5)
    [record] = inbox.messages
    assert (record["accepted"], record["fault"], record["title"]) == (False, "drop", "t")


def test_fault_malformed_body(inbox: Inbox) -> None:
    inbox.add_fault("malformed")
    response = requests.post(inbox.url + "/send", json={"token": PP_TOKEN, "content": "c"}, timeout=5)
    assert response.status_code == 200
    with pytest.raises(ValueError):
        response.json()
    assert inbox.messages[0]["accepted"] is False


@pytest.mark.parametrize(("path", "body", "params", "expected"), [
    ("/api/send/message", WX_BASE, {},
     {"code": 1001, "msg": "业务异常错误", "success": False, "data": None}),
    ("/send", {"token": PP_TOKEN, "content": "c"}, {"code": 900},
     {"code": 900, "msg": "请求次数过多,减少请求后2天恢复正常", "data": None}),
    ("/send", {"token": PP_TOKEN, "content": "c"}, {"code": 905, "msg": "custom"},
     {"code": 905, "msg": "custom", "data": None}),
    ("/SCT1.send", {"title": "t"}, {"code": 40001}, {"code": 40001, "message": "bad pushkey", "data": None}),
])
def test_fault_business_code(inbox: Inbox, path: str, body: Any, params: Any, expected: Any) -> None:
    inbox.add_fault("code", **params)
    assert post(inbox, path, json=body) == expected
    assert inbox.messages[0]["accepted"] is False


def test_fault_code_wecom_rate_limit(inbox: Inbox) -> None:
    inbox.add_fault("code", service="wecombot")
    result = post(inbox, "/cgi-bin/webhook/send?key=k", json={"msgtype": "text", "text": {"content": "x"}})
    assert result["errcode"] == 45009 and result["errmsg"].startswith("api freq out of limit")


def test_faults_match_service_count_and_order(inbox: Inbox) -> None:
    inbox.add_fault("code", service="pushplus", count=2, code=903)
    inbox.add_fault("status", status=502)
    pp = {"token": PP_TOKEN, "content": "c"}
    wx = requests.post(inbox.url + "/api/send/message", json=WX_BASE, timeout=5)
    assert wx.status_code == 502  # the pushplus fault does not match, the next (any service) does
    assert [post(inbox, "/send", json=pp)["code"] for _ in range(3)] == [903, 903, 200]
    assert [m["fault"] for m in inbox.messages] == ["status", "code", "code", None]
    assert inbox.faults == []


def test_add_fault_rejects_bad_input(inbox: Inbox) -> None:
    for kwargs in ({"kind": "explode"}, {"kind": "delay", "service": "nope"}, {"kind": "delay", "count": 0},
                   {"kind": "delay", "delay": 1}, {"kind": "status", "status": "x"}):
        with pytest.raises(ValueError):
            inbox.add_fault(**kwargs)
    assert inbox.faults == []


# --- Control endpoints, page, waiting --------------------------------------------------------------------


def test_control_endpoints(inbox: Inbox) -> None:
    assert requests.get(inbox.url + "/_inbox/health", timeout=5).json() == {"ok": True}
    added = requests.post(inbox.url + "/_inbox/faults", json={"kind": "status", "status": 503, "count": 2},
                          timeout=5)
    assert added.status_code == 200 and added.json()["faults"] == [
        {"kind": "status", "service": None, "count": 2, "status": 503}]
    assert requests.post(inbox.url + "/_inbox/faults", json={"kind": "nope"}, timeout=5).status_code == 400
    as_form = requests.post(inbox.url + "/_inbox/faults", data='{"kind": "drop"}', timeout=5,
                            headers={"Content-Type": "application/x-www-form-urlencoded"})  # curl -d without -H
    assert as_form.status_code == 400 and "Content-Type: application/json" in as_form.json()["error"]
    assert requests.post(inbox.url + "/send", json={}, timeout=5).status_code == 503
    messages = requests.get(inbox.url + "/_inbox/messages", timeout=5).json()
    assert [m["service"] for m in messages] == ["pushplus"]
    assert requests.delete(inbox.url + "/_inbox/messages", timeout=5).json() == {"ok": True}
    assert inbox.messages == [] and inbox.faults == []
    assert requests.get(inbox.url + "/_inbox/messages", timeout=5).json() == []


def test_wait_for(inbox: Inbox) -> None:
    threading.Timer(0.05, post, (inbox, "/SCT1.send"), {"data": {"title": "later"}}).start()
    assert [m["title"] for m in inbox.wait_for(1, timeout=2)] == ["later"]
    with pytest.raises(TimeoutError, match="1 arrived"):
        inbox.wait_for(2, timeout=0.05)


def test_messages_are_copies(inbox: Inbox) -> None:
    post(inbox, "/SCT1.send", data={"title": "t"})
    inbox.messages[0]["body"]["title"] = "changed"
    assert inbox.messages[0]["body"]["title"] == "t"


# --- Command line ----------------------------------------------------------------------------------------


def _inbox_command(lang: str, pattern: str, send: Any) -> str:
    """Run ``python -m wxnotify_magic.inbox``, check its first line against ``pattern`` (group 1: its URL),
    call ``send(url)``, stop it with SIGTERM and return what it printed."""
    proc = subprocess.Popen([sys.executable, "-m", "wxnotify_magic.inbox", "--port", "0", "--lang", lang],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, encoding="utf-8")
    watchdog = threading.Timer(10, proc.kill)
    watchdog.start()
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        match = re.fullmatch(pattern, line)
        assert match, line
        send(match[1])
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=5)
    finally:
        watchdog.cancel()
        proc.kill()
    assert proc.returncode == 0, err
    return out


def test_command_line_prints_listening_line_and_stops_on_sigterm() -> None:
    def send(url: str) -> None:
        result = requests.post(url + "/send", json={"token": PP_TOKEN, "title": "Hello", "content": "a\nb"},
                               timeout=5)
        assert result.json()["code"] == 200

    out = _inbox_command("en", r"wxnotify inbox listening on (http://127\.0\.0\.1:(\d+))  "
                               r"\(export WXNOTIFY_API_BASE=\1\)\n", send)
    assert re.search(r"\[\d\d:\d\d:\d\d\] pushplus  Hello\n    a\n    b\n", out), out


def test_command_line_in_chinese_prints_images_and_rejections() -> None:
    def send(url: str) -> None:
        raw = png() + b"\0" * 3000
        assert requests.post(url + "/cgi-bin/webhook/send?key=k", json=image_body(raw), timeout=5).ok
        assert requests.post(url + "/SCT1.send", data={"title": "t" * 40}, timeout=5).ok

    out = _inbox_command("zh", r"wxnotify inbox 正在监听 (http://127\.0\.0\.1:\d+)（export WXNOTIFY_API_BASE=\1）\n",
                         send)
    assert re.search(r"\] wecombot\n    \[图片，3 KB\]\n", out), out
    assert re.search(r"\] serverchan  t{40}  \[拒收：40002 title too long \(max 32\)\]\n", out), out
