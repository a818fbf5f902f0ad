"""Each provider's requests and judgements, over real HTTP to the local inbox (no mocks of requests)."""

from __future__ import annotations

import time

import pytest
from conftest import WECOM_KEY, WX_TOKEN

from wxnotify_magic.message import Notification, measure
from wxnotify_magic.providers import DestinationError, get_provider, parse_destination
from wxnotify_magic.transport import Transport, TransportError, with_api_base

PP_TOKEN = "test0123456789abcdef0123456789ab"
NOTE = Notification(status="success", title="train", started=time.time() - 5, ended=time.time(),
                    host="box", output="epoch 9 loss 0.1", value="0.97")


def deliver(inbox, url, note=NOTE, timeout=(2.0, 5.0)):  # type: ignore[no-untyped-def]
    """Build, send and judge every request for ``url``; return the receipts."""
    dest = parse_destination(url)
    provider = dest.provider
    transport = Transport(api_base=inbox.url, timeout=timeout)
    return [provider.judge(transport.send(req, dest.secrets)) for req in provider.build(note, dest)]


@pytest.fixture(autouse=True)
def _clear(inbox):  # type: ignore[no-untyped-def]
    inbox.clear()
    yield


def test_api_base_keeps_each_services_path():
    assert with_api_base("https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=K", "http://127.0.0.1:9") == \
        "http://127.0.0.1:9/cgi-bin/webhook/send?key=K"
    assert with_api_base("https://7.push.ft07.com/send/sctp7tK.send", "http://h:1/") == "http://h:1/send/sctp7tK.send"
    assert with_api_base("https://x/y", None) == "https://x/y"


def test_endpoints_are_https():
    for url in (f"wxpusher://{WX_TOKEN}/UID_test_a", "wxpusher://SPT_test_a", f"pushplus://{PP_TOKEN}",
                "schan://SCTtest123", f"wecombot://{WECOM_KEY}"):
        dest = parse_destination(url)
        assert all(r.url.startswith("https://") for r in dest.provider.build(NOTE, dest))


def test_wxpusher_payload(inbox):
    receipts = deliver(inbox, f"wxpusher://{WX_TOKEN}/UID_test_a/UID_test_b/42")
    assert [r.outcome for r in receipts] == ["delivered", "delivered"]  # uids and topics go separately
    bodies = [m["body"] for m in inbox.messages]
    assert bodies[0]["appToken"] == WX_TOKEN and bodies[0]["uids"] == ["UID_test_a", "UID_test_b"]
    assert bodies[1]["topicIds"] == [42]
    assert bodies[0]["contentType"] == 3 and len(bodies[0]["summary"]) <= 100
    assert "epoch 9 loss 0.1" in bodies[0]["content"]


def test_wxpusher_batches_over_2000_uids_and_5_topics(inbox):
    uids = "/".join(f"UID_test_{i}" for i in range(2001))
    topics = "/".join(str(i) for i in range(1, 8))
    receipts = deliver(inbox, f"wxpusher://{WX_TOKEN}/{uids}/{topics}")
    assert all(r.ok for r in receipts) and len(receipts) == 4
    sizes = [len(m["body"].get("uids") or m["body"].get("topicIds")) for m in inbox.messages]
    assert sizes == [2000, 1, 5, 2]


def test_wxpusher_per_target_refusals_are_noted(inbox):
    (receipt,) = deliver(inbox, f"wxpusher://{WX_TOKEN}/UID_test_a/UID_test_bad")
    assert receipt.ok and "1 of 2 recipients refused" in receipt.reason


def test_wxpusher_refused_by_every_recipient_is_a_failure(inbox):
    (receipt,) = deliver(inbox, f"wxpusher://{WX_TOKEN}/UID_test_bad")
    assert not receipt.ok and receipt.outcome == "permanent" and "every recipient refused it" in receipt.reason


def test_wxpusher_bad_token_is_permanent_and_explained(inbox):
    (receipt,) = deliver(inbox, "wxpusher://AT_test_bad_token/UID_test_a")
    assert receipt.outcome == "permanent" and "code 1001" in receipt.reason and "WxPusher" in receipt.reason


def test_wxpusher_simple_push(inbox):
    spts = "/".join(f"SPT_test_{i}" for i in range(12))
    receipts = deliver(inbox, f"wxpusher://{spts}")
    assert [r.outcome for r in receipts] == ["delivered", "delivered"]
    assert [len(m["body"]["sptList"]) for m in inbox.messages] == [10, 2]
    assert inbox.messages[0]["service"] == "wxpusher-spt"


def test_pushplus_payload_and_codes(inbox):
    (receipt,) = deliver(inbox, f"pushplus://{PP_TOKEN}/team1")
    body = inbox.messages[0]["body"]
    assert receipt.ok and body["template"] == "html" and body["topic"] == "team1" and body["token"] == PP_TOKEN
    for code, words, outcome in ((900, "restricted", "retry"), (903, "token", "permanent"),
                                 (905, "real-name", "permanent")):  # 900: the token cools down, then tries again
        inbox.add_fault("code", service="pushplus", code=code)
        (receipt,) = deliver(inbox, f"pushplus://{PP_TOKEN}")
        assert receipt.outcome == outcome and words in receipt.reason and f"code {code}" in receipt.reason


def test_pushplus_escapes_html(inbox):
    note = Notification(status="failed", title="<b>x</b>", output="<script>alert(1)</script>")
    deliver(inbox, f"pushplus://{PP_TOKEN}", note)
    content = inbox.messages[0]["body"]["content"]
    assert "<script>" not in content and "&lt;script&gt;" in content


def test_serverchan_turbo_and_sc3_hosts(inbox):
    (receipt,) = deliver(inbox, "schan://SCTtest123abc")
    assert receipt.ok and inbox.messages[0]["path"] == "/SCTtest123abc.send"
    assert len(inbox.messages[0]["body"]["title"]) <= 32
    dest = parse_destination("schan://sctp42ttestkey")
    assert get_provider("serverchan").build(NOTE, dest)[0].url == "https://42.push.ft07.com/send/sctp42ttestkey.send"
    (receipt,) = deliver(inbox, "schan://sctp42ttestkey")
    assert receipt.ok and inbox.messages[-1]["service"] == "sc3"


def test_serverchan_refusal(inbox):
    (receipt,) = deliver(inbox, "schan://SCTtestbad")
    assert receipt.outcome == "permanent" and "ServerChan" in receipt.reason


def test_wecom_text_and_markdown_choice(inbox):
    deliver(inbox, f"wecombot://{WECOM_KEY}")  # an output tail: markdown_v2, for its code block
    assert inbox.messages[0]["body"]["msgtype"] == "markdown_v2"
    deliver(inbox, f"wecombot://{WECOM_KEY}", Notification(status="died", title="t", cause="exited with code 3"))
    assert inbox.messages[1]["body"]["msgtype"] == "markdown"  # nothing to show as code: with colours
    inbox.clear()
    long = Notification(status="failed", title="t", output="\n".join(f"第{i}行 输出" for i in range(2000)))
    (receipt,) = deliver(inbox, f"wecombot://{WECOM_KEY}", long)
    body = inbox.messages[0]["body"]
    assert receipt.ok and body["msgtype"] == "markdown_v2"
    assert measure(body["markdown_v2"]["content"], "bytes") <= 4096


def test_wecom_bad_key_and_rate_limit(inbox):
    (receipt,) = deliver(inbox, "wecombot://test-bad-key")
    assert receipt.outcome == "permanent" and "93000" in receipt.reason
    inbox.add_fault("code", service="wecombot", code=45009)
    (receipt,) = deliver(inbox, f"wecombot://{WECOM_KEY}")
    assert receipt.outcome == "retry" and "rate limit" in receipt.reason


@pytest.mark.parametrize("kind,params,expect", [
    ("status", {"status": 500}, "server error (HTTP 500)"),
    ("status", {"status": 429, "retry_after": 7}, "rate limited (HTTP 429)"),
    ("malformed", {}, "not JSON"),
])
def test_transport_faults_are_transient(inbox, kind, params, expect):
    inbox.add_fault(kind, **params)
    (receipt,) = deliver(inbox, f"wecombot://{WECOM_KEY}")
    assert receipt.outcome == "retry" and expect in receipt.reason
    if params.get("retry_after"):
        assert receipt.retry_after == 7


def test_dropped_connection_and_timeout_raise_clean_transport_errors(inbox):
    inbox.add_fault("drop")
    with pytest.raises(TransportError) as info:
        deliver(inbox, f"wecombot://{WECOM_KEY}")
    assert WECOM_KEY not in str(info.value)
    inbox.add_fault("delay", seconds=1.0)
    with pytest.raises(TransportError, match="timeout"):
        deliver(inbox, f"wecombot://{WECOM_KEY}", timeout=(1.0, 0.2))


@pytest.mark.parametrize("url,problem", [
    ("wxpusher://AT_test_x", "needs at least one of"),
    ("wxpusher://AT_test_x/notauid", "not a valid UID or Topic id"),
    ("pushplus://tooshort", "Token"),
    ("schan://bad key!", "SendKey"),
    ("ftp://x", "unknown destination type"),
    ("just-text", "not a destination URL"),
])
def test_malformed_destinations(url, problem):
    with pytest.raises(DestinationError, match=problem):
        parse_destination(url)


def test_redaction_never_shows_secrets():
    dest = parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_a/12")
    assert dest.redacted == "wxpusher://AT_…cdef/UID_…/12"
    assert WX_TOKEN not in repr(dest) and "UID_test_a" not in str(dest)


# -- apprise's URL forms, sent: what each form puts on the wire ----------------------------------------------


def test_pushplus_topics_friends_and_channels_on_the_wire(inbox):
    receipts = deliver(inbox, f"pushplus://{PP_TOKEN}/#grp1/grp2/@f1?to=@f2&channel=mail&format=markdown")
    assert [r.outcome for r in receipts] == ["delivered"] * 3  # one request per topic, friends ten at a time
    bodies = [m["body"] for m in inbox.messages]
    assert [b.get("topic") for b in bodies] == ["grp1", "grp2", None] and bodies[2]["to"] == "f1,f2"
    assert {b["channel"] for b in bodies} == {"mail"} and {b["template"] for b in bodies} == {"markdown"}
    inbox.clear()
    (receipt,) = deliver(inbox, f"pushplus://hook1@{PP_TOKEN}?channel=wechat,webhook")
    assert receipt.ok and inbox.messages[0]["path"] == "/batchSend"
    assert inbox.messages[0]["body"]["channel"] == "wechat,webhook" and inbox.messages[0]["body"]["option"] == "hook1"
    inbox.clear()
    (receipt,) = deliver(inbox, f"https://www.pushplus.plus/send?token={PP_TOKEN}&template=json")
    assert receipt.ok and inbox.messages[0]["body"]["template"] == "json" and "topic" not in inbox.messages[0]["body"]


def test_wecom_mentions_go_in_a_text_message(inbox):
    long = Notification(status="failed", title="t", output="\n".join(f"line {i}" for i in range(2000)))
    (receipt,) = deliver(inbox, f"wecombot://{WECOM_KEY}?mention=@all,wangqing,@lisi,13800001111", long)
    body = inbox.messages[0]["body"]
    assert receipt.ok and body["msgtype"] == "text"  # mentions need text: cut to 2048 bytes rather than markdown
    assert body["text"]["mentioned_list"] == ["@all", "wangqing", "lisi"]
    assert body["text"]["mentioned_mobile_list"] == ["13800001111"]
    assert measure(body["text"]["content"], "bytes") <= 2048 and "line 1999" in body["text"]["content"]
    inbox.clear()
    deliver(inbox, f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}&format=markdown",
            Notification(status="success", title="t", output="a tail"))
    assert inbox.messages[0]["body"]["msgtype"] == "markdown_v2"  # the output tail in a code block
    with pytest.raises(DestinationError, match="mentions work only in text"):
        parse_destination(f"wecombot://{WECOM_KEY}?format=markdown&mention=@all")


@pytest.mark.parametrize(("fmt", "content_type"), [("text", 1), ("html", 2), ("markdown", 3), ("", 3)])
def test_wxpusher_format_sets_the_content_type(inbox, fmt, content_type):
    deliver(inbox, f"wxpusher://UID_test_a?token={WX_TOKEN}" + (f"&format={fmt}" if fmt else ""))
    body = inbox.messages[0]["body"]
    assert body["contentType"] == content_type and body["uids"] == ["UID_test_a"]
    assert ("<b>" in body["content"]) == (fmt == "html")
