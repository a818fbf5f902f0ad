"""apprise's URL forms for the services wxnotify implements, read by apprise itself and by wxnotify, side by side.

The expected readings are not written here: they come from the installed apprise (the ``test`` extra pins it), so
the two parsers cannot drift apart unnoticed. Where wxnotify deliberately reads a URL differently, the row says
why (``DIFFERENT``); everywhere else a URL apprise accepts must mean the same here, and one it rejects is
rejected here too. apprise's own printout of each URL (``url()``) must parse the same way again.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from wxnotify_magic.providers import DestinationError, parse_destination

apprise = pytest.importorskip("apprise")
from apprise.plugins.dingtalk import NotifyDingTalk  # noqa: E402
from apprise.plugins.feishu import NotifyFeishu  # noqa: E402
from apprise.plugins.lark import NotifyLark  # noqa: E402
from apprise.plugins.pushplus import NotifyPushplus  # noqa: E402
from apprise.plugins.serverchan import NotifyServerChan  # noqa: E402
from apprise.plugins.wecombot import NotifyWeComBot  # noqa: E402
from apprise.plugins.wxpusher import NotifyWxPusher  # noqa: E402

T = "0123456789abcdef0123456789abcdef"  # a PushPlus-shaped fake token
K = "abc-123_KEY"
D, S = "0123456789abcdef" * 4, "SEC" + "fedcba9876543210" * 4  # DingTalk-shaped fake token and signing secret
F, FS = "0a1b2c3d-0000-4000-8000-0123456789ab", "sEcReT0123456789"  # Feishu-shaped fake token and secret

EXAMPLES = [
    # WxPusher
    "wxpusher://AT_test/UID_a", "wxpusher://AT_test/UID_a,UID_b", "wxpusher://AT_test/UID_a/123",
    "wxpusher://UID_a?token=AT_test", "wxpusher://123?token=AT_test", "wxpusher://AT_test/?to=UID_a,123",
    "wxpusher://AT_test/UID_a?to=UID_b", "wxpusher://AT_test/UID_a?format=markdown",
    "wxpusher://AT_test/UID_a?format=html", "wxpusher://AT_test/UID_a?format=text", "wxpusher://AT_test",
    "wxpusher://AT_test/abc", "wxpusher://AT_test/0", "wxpusher://at_Test/uid_X", "wxpusher://bad_token/UID_a",
    "wxpusher://AT_test/UID_a?overflow=split", "wxpusher://AT_test/UID_a?overflow=truncate&rto=10&cto=3",
    "wxpusher://AT_test/UID_a?emojis=yes", "wxpusher://AT_test/UID_a?verify=no",
    # PushPlus
    f"pushplus://{T}", f"pushplus://{T}/", f"pushplus://{T}/grp", f"pushplus://{T}/#grp", f"pushplus://{T}/#grp/",
    f"pushplus://{T}/%23grp", f"pushplus://{T}/a,b", f"pushplus://{T}/@friend", f"pushplus://{T}/@f1/@f2/grp",
    f"pushplus://{T}?topic=grp", f"pushplus://{T}?to=@friend,grp", f"pushplus://{T}?to=x",
    f"pushplus://{T}/@bad!name", f"pushplus://{T}/#{'x' * 51}", f"pushplus://{T}?channel=mail",
    f"pushplus://{T}?mode=cp", f"pushplus://{T}?channel=wecom", f"pushplus://{T}?channel=wechat,mail",
    f"pushplus://{T}?channel=sms2", f"pushplus://{T}?channel=webhook&option=hook1", f"pushplus://hook1@{T}",
    f"pushplus://hook1@{T}?channel=mail", f"pushplus://{T}?webhook=hook2", f"pushplus://{T}?name=hook3",
    f"pushplus://{T}?template=json", f"pushplus://{T}?template=CLOUDMONITOR", f"pushplus://{T}?template=nope",
    f"pushplus://{T}?format=markdown", f"pushplus://{T}?format=text",
    f"pushplus://{T}?callback=https://example.com/cb", f"pushplus://{T}?callbackurl=https://example.com/cb",
    f"pushplus://?token={T}", f"pushplus://grp?token={T}", f"wecom://{T}", f"wecom://{T}/grp?channel=mail",
    "pushplus://shorttoken", f"https://www.pushplus.plus/send?token={T}",
    f"https://www.pushplus.plus/send?token={T}&topic=grp&channel=mail", f"https://www.pushplus.plus/send/{T}",
    f"http://pushplus.plus/send?token={T}", f"https://www.pushplus.plus/batchSend?token={T}&channel=wechat,mail",
    # ServerChan
    "schan://SCT123456TabcDEF", "schan://SCT123456TabcDEF/", "schan://SCT123456TabcDEF/extra",
    "schan://sctp12345tAbCdEf?format=markdown", "schan://sctp12345tAbCdEf?format=text",
    "schan://sctp12345tAbCdEf?format=html", "schan://sctp12345t_AbC", "schan://a-b", "schan://",
    # WeCom group bot
    f"wecombot://{K}", f"wecombot://{K}?format=markdown", f"wecombot://{K}?format=text",
    f"wecombot://{K}?format=html", f"wecombot://?key={K}", f"wecombot://{K}/extra", "wecombot://",
    f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={K}",
    f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={K}&format=markdown",
    f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send/?key={K}",
    f"https://qyapi.weixin.qq.com/cgi-bin/webhook/send?debug=1&key={K}",
    # DingTalk group robot
    f"dingtalk://{D}", f"dingtalk://{S}@{D}", f"dingtalk://{S}@{D}/13800001111", f"dingtalk://{D}?secret={S}",
    f"dingtalk://{D}?to=13800001111,13900002222", f"dingtalk://?token={D}", f"dingtalk://{D}?format=markdown",
    f"dingtalk://{D}?format=text", f"dingtalk://{D}/12", "dingtalk://tok_123",
    f"https://oapi.dingtalk.com/robot/send?access_token={D}",
    # Feishu and Lark group bots
    f"feishu://{F}", f"feishu://?token={F}", f"feishu://{F}?format=markdown", f"feishu://{F}?format=text",
    f"feishu://{FS}@{F}", f"feishu://{F}?secret={FS}", f"feishu://{F}/extra",
    f"https://open.feishu.cn/open-apis/bot/v2/hook/{F}", f"lark://{F}", f"lark://?token={F}",
    f"https://open.larksuite.com/open-apis/bot/v2/hook/{F}",
]

# Where wxnotify reads a URL differently on purpose: URL -> why. Each is also said in the README or providers.md.
DIFFERENT = {
    "wxpusher://AT_test/UID_a?overflow=split": "wxnotify cuts each message to the service's limit; no splitting",
    "wxpusher://AT_test/UID_a?emojis=yes": "no :emoji: conversion",
    "wxpusher://AT_test/UID_a?verify=no": "TLS certificates are always checked",
    f"pushplus://grp?token={T}": "apprise ignores the host `grp` (sends to the token's owner): ambiguous, refused",
    "schan://SCT123456TabcDEF/extra": "apprise ignores the extra path; refused rather than dropped",
    "schan://sctp12345tAbCdEf?format=html": "ServerChan shows Markdown, not HTML",
    "schan://sctp12345t_AbC": "apprise cuts the key at `_` (to sctp12345t); the whole key is the SendKey",
    "schan://a-b": "apprise cuts the key at `-` (to a); the whole key is the SendKey",
    f"wecombot://{K}?format=html": "WeCom bots show text or Markdown, not HTML",
    f"wecombot://{K}/extra": "apprise ignores the extra path; refused rather than dropped",
    f"dingtalk://{D}/12": "apprise drops a mobile that is not 11-14 digits and sends anyway; refused instead",
    f"https://oapi.dingtalk.com/robot/send?access_token={D}": "apprise does not read DingTalk's webhook URL",
    f"feishu://{FS}@{F}": "apprise's feishu:// does not sign and ignores the part before @; here it is the secret",
    f"feishu://{F}?secret={FS}": "apprise's feishu:// does not sign and ignores ?secret=; here it signs",
    f"feishu://{F}/extra": "apprise ignores the extra path; refused rather than dropped",
    f"https://open.feishu.cn/open-apis/bot/v2/hook/{F}": "apprise does not read Feishu's webhook URL (only Lark's)",
}


def apprise_reading(url: str) -> dict[str, Any] | None:
    """What apprise understood, in neutral names; None when apprise rejects the URL."""
    logging.disable(logging.CRITICAL)  # apprise warns about every dropped target
    try:
        obj = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    finally:
        logging.disable(logging.NOTSET)
    if obj is None:
        return None
    fmt = str(getattr(obj.notify_format, "value", obj.notify_format))
    if isinstance(obj, NotifyWxPusher):  # private attributes of apprise 2.3 (pinned in the test extra)
        invalid = list(obj._invalid_targets) or ([] if obj._users or obj._topics else ["(no target)"])
        return {"service": "wxpusher", "token": obj.token, "uids": sorted(obj._users),
                "topics": sorted(str(t) for t in obj._topics), "format": fmt, "invalid": invalid}
    if isinstance(obj, NotifyPushplus):
        return {"service": "pushplus", "token": obj.token, "topics": sorted(obj.topics),
                "friends": sorted(obj.friends), "channel": obj.channel, "option": obj.option or "",
                "template": obj.template or "", "callback": obj.callback_url or "", "format": fmt,
                "invalid": list(obj.invalid_targets)}
    if isinstance(obj, NotifyServerChan):
        return {"service": "serverchan", "token": obj.token, "format": fmt, "invalid": []}
    if isinstance(obj, NotifyWeComBot):
        return {"service": "wecombot", "token": obj.key, "format": fmt, "invalid": []}
    if isinstance(obj, (NotifyDingTalk, NotifyFeishu, NotifyLark)):  # these keep a stated format only in url()
        fmt = dict(parse_qsl(urlsplit(obj.url(privacy=False)).query)).get("format", "text")
        service = {NotifyDingTalk: "dingtalk", NotifyFeishu: "feishu", NotifyLark: "lark"}[type(obj)]
        return {"service": service, "token": obj.token, "secret": getattr(obj, "secret", None) or "",
                "mobiles": sorted(getattr(obj, "targets", None) or []), "format": fmt, "invalid": []}
    raise AssertionError(f"unexpected plugin {type(obj).__name__}")


def our_reading(url: str, apprise_format: str) -> dict[str, Any] | None:
    """What wxnotify understood, in the same names; None when it refuses the URL."""
    try:
        dest = parse_destination(url)
    except DestinationError:
        return None
    v = dest.values
    name = "wxpusher" if dest.provider.name.startswith("wxpusher") else dest.provider.name
    # apprise always has a format (its plugin's default); compare ours only where the URL states one
    fmt = v.get("format") or (apprise_format if "format=" not in url.lower() else "(not set)")
    reading: dict[str, Any] = {"service": name, "format": fmt, "invalid": []}
    if name == "wxpusher":
        reading.update(token=v["token"], uids=sorted(v["uids"]), topics=sorted(v["topics"]))
    elif name == "pushplus":
        reading.update(token=v["token"], topics=sorted(v["topics"]), friends=sorted(v["friends"]),
                       channel=v["channel"] or "wechat", option=v["option"], template=v["template"],
                       callback=v["callback"])
    elif name in ("dingtalk", "feishu", "lark"):
        reading.update(token=v["token"], secret=v["secret"],
                       mobiles=sorted(re.sub(r"\D", "", m) for m in v.get("mobiles", [])))
    else:
        reading.update(token=v["key"])
    return reading


@pytest.mark.parametrize("url", EXAMPLES)
def test_same_reading_as_apprise(url: str) -> None:
    theirs = apprise_reading(url)
    ours = our_reading(url, theirs["format"] if theirs else "")
    if url in DIFFERENT:
        assert ours != theirs, f"no longer different ({DIFFERENT[url]}): drop the row"
        if theirs is not None:  # a URL apprise accepts and wxnotify reads differently: refused, or the full key
            assert ours is None or ours["token"] != theirs["token"] or ours.get("secret") != theirs.get("secret")
        return
    if theirs is None:
        assert ours is None, "apprise rejects this URL; wxnotify must too"
    elif theirs["invalid"]:
        assert ours is None, f"apprise drops {theirs['invalid']} and sends anyway; wxnotify refuses instead"
    else:
        assert ours == theirs


@pytest.mark.parametrize("url", [u for u in EXAMPLES if u not in DIFFERENT])
def test_apprise_printout_parses_the_same(url: str) -> None:
    """What apprise prints for a URL (``url()``: every default spelled out) is accepted with the same meaning."""
    theirs = apprise_reading(url)
    if theirs is None or theirs["invalid"]:
        pytest.skip("apprise refuses this URL, or drops part of it")
    obj = apprise.Apprise.instantiate(url, suppress_exceptions=True)
    printed = obj.url(privacy=False)
    again = apprise_reading(printed)
    assert again is not None
    if "format=" not in printed:  # apprise's schan:// printout leaves the format out
        theirs = {**theirs, "format": again["format"]}
    assert again == theirs
    assert our_reading(printed, again["format"]) == theirs, printed


def test_unknown_parameter_is_named_never_dropped() -> None:
    for url, name in ((f"pushplus://{T}?tpoic=grp", "?tpoic="), ("wxpusher://AT_test/UID_a?tz=UTC", "?tz="),
                      (f"wecombot://{K}?mentoin=@all", "?mentoin=")):
        with pytest.raises(DestinationError, match=name.replace("?", r"\?")):
            parse_destination(url)
