"""DingTalk and Feishu/Lark group robots, as a user meets them: the URL forms, the signature made at send time,
the receipt, the status, the panel and the redactor. The common contract is in tests/test_provider_contract.py."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from typing import Any
from urllib.parse import unquote

import pytest

from wxnotify_magic.api import send
from wxnotify_magic.message import Notification
from wxnotify_magic.providers import PROVIDERS, DestinationError, parse_destination
from wxnotify_magic.redact import redact
from wxnotify_magic.transport import Transport, with_api_base

DT_TOKEN = "test0robot0token0123456789abcdef"  # no service name in it: a run of 8 of a known token is hidden
DT_SECRET = "SEC" + "0123456789abcdef" * 4
FS_TOKEN = "0a1b2c3d-test-feishu-token-0123456789ab"
FS_SECRET = "testFeishuSecret0123456789"
NOTE = Notification(status="success", title="train", started=time.time() - 5, ended=time.time(), host="box",
                    output="epoch 9 loss 0.1")


def deliver(inbox: Any, url: str, note: Notification = NOTE) -> list[Any]:
    dest = parse_destination(url)
    transport = Transport(api_base=inbox.url, timeout=(2.0, 5.0))
    return [dest.provider.judge(transport.send(dest.provider.signed(r, dest), dest.secrets))
            for r in dest.provider.build(note, dest)]


@pytest.fixture(autouse=True)
def _clear(inbox: Any) -> None:
    inbox.clear()


# -- URL forms -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    f"dingtalk://{DT_SECRET}@{DT_TOKEN}",
    f"dingtalk://{DT_TOKEN}?secret={DT_SECRET}",
    f"dingtalk://?token={DT_TOKEN}&secret={DT_SECRET}",
    f"https://oapi.dingtalk.com/robot/send?access_token={DT_TOKEN}",
])
def test_dingtalk_urls_as_apprise_writes_them_and_the_pasted_webhook(url: str) -> None:
    dest = parse_destination(url)
    assert dest.provider.name == "dingtalk" and dest.values["token"] == DT_TOKEN
    assert dest.values["secret"] in ("", DT_SECRET)
    assert DT_TOKEN not in dest.redacted and DT_SECRET not in dest.redacted


def test_dingtalk_mobiles_and_the_canonical_url() -> None:
    dest = parse_destination(f"dingtalk://{DT_SECRET}@{DT_TOKEN}/13800001111?to=%2B8613900002222&format=text")
    assert dest.values["mobiles"] == ["13800001111", "+8613900002222"] and dest.values["format"] == "text"
    assert dest.provider.to_url(dest.values).startswith(f"dingtalk://{DT_SECRET}@{DT_TOKEN}/13800001111/")
    assert dest.redacted.startswith("dingtalk://SEC…cdef@…cdef/13800001111")
    with pytest.raises(DestinationError, match="Mobile to @"):
        parse_destination(f"dingtalk://{DT_TOKEN}/12")


@pytest.mark.parametrize(("url", "scheme"), [
    (f"feishu://{FS_SECRET}@{FS_TOKEN}", "feishu"),
    (f"feishu://{FS_TOKEN}?secret={FS_SECRET}", "feishu"),
    (f"https://open.feishu.cn/open-apis/bot/v2/hook/{FS_TOKEN}", "feishu"),
    (f"lark://{FS_TOKEN}", "lark"),
    (f"https://open.larksuite.com/open-apis/bot/v2/hook/{FS_TOKEN}", "lark"),
])
def test_feishu_and_lark_urls(url: str, scheme: str) -> None:
    dest = parse_destination(url)
    assert dest.provider.name == scheme and dest.values["token"] == FS_TOKEN
    assert FS_TOKEN not in dest.redacted and FS_SECRET not in dest.redacted
    host = {"feishu": "open.feishu.cn", "lark": "open.larksuite.com"}[scheme]
    assert [r.url for r in dest.provider.build(NOTE, dest)] == [f"https://{host}/open-apis/bot/v2/hook/{FS_TOKEN}"]


def test_the_api_base_puts_each_robots_own_path_under_it() -> None:
    for url, path in [(f"dingtalk://{DT_TOKEN}", f"/robot/send?access_token={DT_TOKEN}"),
                      (f"feishu://{FS_TOKEN}", f"/open-apis/bot/v2/hook/{FS_TOKEN}"),
                      (f"lark://{FS_TOKEN}", f"/open-apis/bot/v2/hook/{FS_TOKEN}")]:
        dest = parse_destination(url)
        [request] = dest.provider.build(NOTE, dest)
        assert with_api_base(request.url, "http://127.0.0.1:9/base") == "http://127.0.0.1:9/base" + path


# -- the signature, made when the request leaves -------------------------------------------------------------


def test_dingtalk_signs_the_url_at_send_time_and_the_inbox_accepts_it(inbox: Any) -> None:
    dest = parse_destination(f"dingtalk://{DT_SECRET}@{DT_TOKEN}")
    [request] = dest.provider.build(NOTE, dest)
    assert "sign=" not in request.url  # build is pure: no clock in it
    before = time.time()
    assert [v.ok for v in deliver(inbox, dest.url)] == [True]
    [message] = inbox.messages
    stamp, sign = message["query"]["timestamp"], message["query"]["sign"]
    assert before * 1000 - 1 <= int(stamp) <= time.time() * 1000 + 1
    mac = hmac.new(DT_SECRET.encode(), f"{stamp}\n{DT_SECRET}".encode(), hashlib.sha256).digest()
    assert unquote(sign) == sign and sign == base64.b64encode(mac).decode()  # parse_qsl undid the URL encoding
    assert message["format"] == "markdown" and "train" in message["title"]


def test_a_retry_is_signed_again_not_twice(inbox: Any) -> None:
    dest = parse_destination(f"dingtalk://{DT_SECRET}@{DT_TOKEN}")
    [request] = dest.provider.build(NOTE, dest)
    first = dest.provider.signed(request, dest, now=1000.0)
    second = dest.provider.signed(request, dest, now=2000.0)
    assert first.url.count("sign=") == 1 and second.url.count("timestamp=") == 1
    assert "timestamp=1000000" in first.url and "timestamp=2000000" in second.url


def test_feishu_signs_the_body_with_its_own_algorithm(inbox: Any) -> None:
    assert [v.ok for v in deliver(inbox, f"feishu://{FS_SECRET}@{FS_TOKEN}")] == [True]
    [message] = inbox.messages
    stamp, sign = message["body"]["timestamp"], message["body"]["sign"]
    assert abs(int(stamp) - time.time()) < 5
    expected = hmac.new(f"{stamp}\n{FS_SECRET}".encode(), b"", hashlib.sha256).digest()  # key and message swapped
    assert sign == base64.b64encode(expected).decode()
    assert "train" in message["title"] and "epoch 9 loss 0.1" in message["content"]


def test_an_unsigned_robot_sends_no_signature(inbox: Any) -> None:
    assert [v.ok for v in deliver(inbox, f"dingtalk://{DT_TOKEN}")] == [True]
    assert [v.ok for v in deliver(inbox, f"feishu://{FS_TOKEN}")] == [True]
    ding, fei = inbox.messages
    assert "sign" not in ding["query"] and "sign" not in fei["body"]


def test_a_stale_signature_is_refused_as_the_services_do(inbox: Any) -> None:
    dest = parse_destination(f"dingtalk://{DT_SECRET}@{DT_TOKEN}")
    [request] = dest.provider.build(NOTE, dest)
    old = dest.provider.signed(request, dest, now=time.time() - 7200)
    verdict = dest.provider.judge(Transport(api_base=inbox.url).send(old, dest.secrets))
    assert verdict.outcome == "permanent" and "310000" in verdict.reason and "security settings" in verdict.reason
    dest = parse_destination(f"feishu://{FS_SECRET}@{FS_TOKEN}")
    [request] = dest.provider.build(NOTE, dest)
    old = dest.provider.signed(request, dest, now=time.time() - 7200)
    verdict = dest.provider.judge(Transport(api_base=inbox.url).send(old, dest.secrets))
    assert verdict.outcome == "permanent" and "19021" in verdict.reason


# -- formats and the services' answers -----------------------------------------------------------------------


def test_dingtalk_text_with_mentions(inbox: Any) -> None:
    assert deliver(inbox, f"dingtalk://{DT_TOKEN}/13800001111?format=text")[0].ok
    [message] = inbox.messages
    assert message["body"]["msgtype"] == "text" and message["body"]["at"]["atMobiles"] == ["13800001111"]
    assert message["content"].endswith("@13800001111")


@pytest.mark.parametrize(("fmt", "kind"), [("", "post"), ("text", "text"), ("markdown", "interactive")])
def test_feishu_formats(inbox: Any, fmt: str, kind: str) -> None:
    url = f"feishu://{FS_TOKEN}" + (f"?format={fmt}" if fmt else "")
    assert deliver(inbox, url)[0].ok
    [message] = inbox.messages
    assert message["body"]["msg_type"] == kind and "epoch 9 loss 0.1" in message["content"]


def test_rate_limit_answers_retry_after_the_services_restriction(inbox: Any) -> None:
    inbox.add_fault("code", service="dingtalk")
    [verdict] = deliver(inbox, f"dingtalk://{DT_TOKEN}")
    assert verdict.outcome == "retry" and verdict.retry_after == 600 and "130101" in verdict.reason
    inbox.add_fault("code", service="feishu")
    [verdict] = deliver(inbox, f"feishu://{FS_TOKEN}")
    assert verdict.outcome == "retry" and verdict.retry_after == 60 and "11232" in verdict.reason


def test_a_long_chinese_output_stays_within_the_20_kb_body(inbox: Any) -> None:
    note = Notification(status="failed", title="训练", started=time.time() - 9, ended=time.time(), host="box",
                        output="\n".join(f"第 {i} 轮 损失 0.{i} 中文输出" for i in range(3000)))
    for url in (f"dingtalk://{DT_TOKEN}", f"dingtalk://{DT_TOKEN}?format=text", f"feishu://{FS_TOKEN}",
                f"feishu://{FS_TOKEN}?format=text", f"feishu://{FS_TOKEN}?format=markdown"):
        assert [v.ok for v in deliver(inbox, url, note)] == [True], url
    assert all(m["accepted"] for m in inbox.messages)


# -- what the user reads ---------------------------------------------------------------------------------------


def test_a_robots_receipt_does_not_say_wechat(home: Any, inbox: Any) -> None:
    receipt = send("backup done", to=f"dingtalk://{DT_SECRET}@{DT_TOKEN}")
    assert receipt.ok and receipt.line.startswith("wxnotify: sent via DingTalk group robot"), receipt.line
    receipt = send("backup done", to=f"lark://{FS_TOKEN}")
    assert receipt.ok and receipt.line.startswith("wxnotify: sent via Lark group bot"), receipt.line
    assert not PROVIDERS["dingtalk"].wechat and not PROVIDERS["feishu"].wechat and PROVIDERS["wecombot"].wechat


def test_status_counts_a_robots_per_minute_limit(ip: Any, inbox: Any, capsys: Any) -> None:
    ip.run_cell(f"%config WxNotify.destinations = {{'ding': 'dingtalk://{DT_TOKEN}', "
                f"'fei': 'feishu://{FS_TOKEN}'}}").raise_error()
    ip.run_cell("%config WxNotify.to = ['ding', 'fei']").raise_error()
    ip.run_cell("%wxsend hello").raise_error()
    capsys.readouterr()
    ip.run_cell("%wxnotify").raise_error()
    out = capsys.readouterr().out
    assert "Access token …cdef: 1 of 20 in the last minute" in out
    assert "Webhook token …89ab: 1 of 100 in the last minute" in out
    assert DT_TOKEN not in out and FS_TOKEN not in out


def test_secrets_in_free_text_are_redacted() -> None:
    # the services' own URLs read as destinations; under WXNOTIFY_API_BASE the declared query names and paths
    text = (f"POST https://oapi.dingtalk.com/robot/send?access_token={DT_TOKEN}&timestamp=1&sign=x failed; "
            f"POST https://open.feishu.cn/open-apis/bot/v2/hook/{FS_TOKEN} failed; secret {DT_SECRET}; "
            f"POST http://127.0.0.1:9/robot/send?access_token={DT_TOKEN} and http://127.0.0.1:9/open-apis/bot/v2/"
            f"hook/{FS_TOKEN} refused")
    shown = redact(text)
    assert DT_TOKEN not in shown and FS_TOKEN not in shown and DT_SECRET not in shown
    assert "dingtalk://…cdef failed" in shown and "feishu://…89ab failed" in shown and "SEC…cdef" in shown
    assert "/robot/send?access_token=… and" in shown and "/open-apis/bot/v2/hook/… refused" in shown
