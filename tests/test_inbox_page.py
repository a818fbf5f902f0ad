"""The inbox page over real HTTP: rendered on the server as each service shows a message, sanitized, in the
inbox's language, under a strict Content-Security-Policy. The browser checks are in test_browser.py.
"""

from __future__ import annotations

import ast
import base64
import hashlib
import html
import re
import struct
import subprocess
import sys
import zlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from wxnotify_magic.inbox import Inbox
from wxnotify_magic.lang_zh import ZH

PP_TOKEN = "0123456789abcdef0123456789ABCDEF"
WX = {"appToken": "AT_test", "uids": ["UID_test_a"]}
INBOX_SRC = Path(__file__).resolve().parents[1] / "wxnotify_magic" / "inbox"
TRACEBACK = "Traceback (most recent call last):\n" + "".join(
    f'  File "/work/train.py", line {i}, in step\n    loss = model(batch)\n' for i in range(20)) + \
    "ZeroDivisionError: division by zero"


@pytest.fixture(scope="module")
def server() -> Iterator[Inbox]:
    with Inbox(lang="en") as inbox:
        yield inbox


@pytest.fixture
def inbox(server: Inbox) -> Inbox:
    server.clear()
    server.lang = "en"
    return server


def png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\x07\xc1\x60"))
            + chunk(b"IEND", b""))


def card(inbox: Inbox, path: str, **kwargs: Any) -> str:
    """Send one message, then return its card's HTML as the page's feed gives it."""
    requests.post(inbox.url + path, timeout=5, **kwargs)
    feed = requests.get(inbox.url + "/_inbox/feed", params={"after": 0}, timeout=5).json()
    return str(feed["cards"][-1]["html"])


def body_of(card_html: str) -> str:
    return card_html.split('<div class="body', 1)[1]


# --- each service's format -------------------------------------------------------------------------------


MARKDOWN = f"### Training failed\n\n**ZeroDivisionError**: division by zero\n\n```python\n{TRACEBACK}\n```\n"


@pytest.mark.parametrize(("path", "kwargs"), [
    ("/api/send/message", {"json": {**WX, "content": MARKDOWN, "contentType": 3}}),
    ("/send", {"json": {"token": PP_TOKEN, "content": MARKDOWN, "template": "markdown"}}),
    ("/SCT1.send", {"data": {"title": "t", "desp": MARKDOWN}}),
    ("/send/sctp1tk.send", {"json": {"title": "t", "desp": MARKDOWN}}),
    ("/cgi-bin/webhook/send?key=k", {"json": {"msgtype": "markdown", "markdown": {"content": MARKDOWN}}}),
    ("/cgi-bin/webhook/send?key=k", {"json": {"msgtype": "markdown_v2", "markdown_v2": {"content": MARKDOWN}}}),
], ids=["wxpusher", "pushplus", "serverchan", "sc3", "wecom-markdown", "wecom-markdown_v2"])
def test_markdown_is_rendered_and_long_blocks_fold_to_their_end(inbox: Inbox, path: str, kwargs: Any) -> None:
    body = body_of(card(inbox, path, **kwargs))
    assert "<h3>Training failed</h3>" in body and "<strong>ZeroDivisionError</strong>" in body
    assert "###" not in body and "**" not in body and "```" not in body
    assert re.search(r"<details><summary>Show 30 earlier lines</summary><pre>Traceback \(most recent call last\)",
                     body)
    tail = body.rsplit("</details>", 1)[1]
    assert tail.startswith("<pre>") and tail.split("</pre>")[0].count("\n") == 11  # the last 12 lines
    assert "ZeroDivisionError: division by zero</pre>" in tail


@pytest.mark.parametrize(("path", "kwargs"), [
    ("/api/send/message", {"json": {**WX, "content": "{html}", "contentType": 2}}),
    ("/send", {"json": {"token": PP_TOKEN, "content": "{html}"}}),
], ids=["wxpusher", "pushplus"])
def test_html_is_sanitized(inbox: Inbox, path: str, kwargs: Any) -> None:
    image = "data:image/png;base64," + base64.b64encode(png()).decode()
    dirty = (f'<h3 onclick="steal()">Done</h3><script>window.pwned = 1</script><style>h3 {{display:none}}</style>'
             f'<img src="x" onerror="window.pwned = 2"><img src="{image}" alt="curve">'
             '<a href="javascript:steal()">bad</a> <a href="https://example.com/run">log</a>'
             '<iframe src="https://example.com"></iframe><p style="position:fixed">styled</p><pre>a &lt; b</pre>')
    kwargs = {"json": {k: dirty if v == "{html}" else v for k, v in kwargs["json"].items()}}
    body = body_of(card(inbox, path, **kwargs))
    for banned in ("<script", "pwned", "onerror", "onclick", "steal", "<style", "display:none", "<iframe",
                   "style=", 'src="x"'):
        assert banned not in body
    assert "<h3>Done</h3>" in body and f'<img src="{image}" alt="curve">' in body
    assert '<a href="https://example.com/run" rel="noopener noreferrer">log</a>' in body
    assert "<pre>a &lt; b</pre>" in body and "<p>styled</p>" in body


@pytest.mark.parametrize(("path", "kwargs"), [
    ("/api/send/message", {"json": {**WX, "content": "{text}"}}),
    ("/send", {"json": {"token": PP_TOKEN, "content": "{text}", "template": "txt"}}),
    ("/cgi-bin/webhook/send?key=k", {"json": {"msgtype": "text", "text": {"content": "{text}"}}}),
], ids=["wxpusher", "pushplus", "wecom"])
def test_text_stays_text_with_its_start_and_end_shown(inbox: Inbox, path: str, kwargs: Any) -> None:
    text = "❌ train.py failed <b>not bold</b> **not bold**\nStatus: failed\n\n" + TRACEBACK
    payload = str(kwargs["json"]).replace("'{text}'", repr(text))
    body = body_of(card(inbox, path, json=ast.literal_eval(payload)))
    assert "&lt;b&gt;not bold&lt;/b&gt; **not bold**" in body and "<b>" not in body
    assert body.startswith(' text"><div class="fold text"><pre>❌ train.py failed')
    assert "<summary>Show 25 more lines</summary>" in body
    assert body.rsplit("</details>", 1)[1].startswith("<pre>") and "ZeroDivisionError: division by zero</pre>" in body


def test_json_and_other_wecom_types_are_pretty_printed(inbox: Inbox) -> None:
    body = body_of(card(inbox, "/send", json={"token": PP_TOKEN, "content": '{"loss": 0.1, "名": "<x>"}',
                                              "template": "json"}))
    assert '<pre>{\n  &quot;loss&quot;: 0.1,\n  &quot;名&quot;: &quot;&lt;x&gt;&quot;\n}</pre>' in body
    news = {"msgtype": "news", "news": {"articles": [{"title": "Loss curve", "url": "https://example.com"}]}}
    assert "Loss curve" in body_of(card(inbox, "/cgi-bin/webhook/send?key=k", json=news))


def test_wecom_font_colours_and_nothing_else(inbox: Inbox) -> None:
    content = '<font color="warning">failed</font> <font color="red">x</font> <font color="info" face="x">ok</font>'
    body = body_of(card(inbox, "/cgi-bin/webhook/send?key=k", json={"msgtype": "markdown",
                                                                   "markdown": {"content": content}}))
    assert '<font color="warning">failed</font> <font>x</font> <font color="info">ok</font>' in body


def test_wecom_image_is_shown(inbox: Inbox) -> None:
    raw = png()
    message = {"msgtype": "image", "image": {"base64": base64.b64encode(raw).decode(),
                                             "md5": hashlib.md5(raw).hexdigest()}}
    body = body_of(card(inbox, "/cgi-bin/webhook/send?key=k", json=message))
    assert f'<img class="picture" alt="image" src="data:image/png;base64,{base64.b64encode(raw).decode()}">' in body


def test_rejected_and_faulted_messages_say_why(inbox: Inbox) -> None:
    rejected = card(inbox, "/cgi-bin/webhook/send?key=bad", json={"msgtype": "text", "text": {"content": "x"}})
    assert 'class="card failed"' in rejected
    assert '<p class="note">rejected by the service: 93000 invalid webhook url, hint: [' in rejected
    inbox.add_fault("status", status=503)
    faulted = card(inbox, "/SCT1.send", data={"title": "<t>"})
    assert '<h2 class="title">&lt;t&gt;</h2>' in faulted and "fault injected: status" in faulted


# --- the page and its feed -------------------------------------------------------------------------------


def test_page_has_a_strict_policy_and_no_outside_resource(inbox: Inbox) -> None:
    requests.post(inbox.url + "/send", json={"token": PP_TOKEN, "title": "T", "content": "<b>hi</b>"}, timeout=5)
    response = requests.get(inbox.url + "/", timeout=5)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/html")
    policy = response.headers["Content-Security-Policy"]
    nonce = re.search(r"script-src 'nonce-([\w-]{16,})'", policy)
    assert nonce and "default-src 'none'" in policy and "unsafe-inline" not in policy
    page = response.text
    assert page.count(f'nonce="{nonce[1]}"') == 2 and page.count("<script") == page.count("<style") == 1
    assert requests.get(inbox.url + "/", timeout=5).headers["Content-Security-Policy"] != policy  # fresh nonce
    assert "<title>wxnotify inbox</title>" in page and "/_inbox/feed" in page and "<b>hi</b>" in page
    assert not re.search(r"https?://|@import|url\(", page)


def test_feed_sends_only_new_cards(inbox: Inbox) -> None:
    for title in ("one", "two"):
        requests.post(inbox.url + "/SCT1.send", data={"title": title}, timeout=5)
    first, second = (m["id"] for m in inbox.messages)
    feed = requests.get(inbox.url + "/_inbox/feed", params={"after": first}, timeout=5).json()
    assert feed["ids"] == [first, second] and feed["status"] == "2 messages · live"
    assert [c["id"] for c in feed["cards"]] == [second] and ">two</h2>" in feed["cards"][0]["html"]
    inbox.clear()
    assert requests.get(inbox.url + "/_inbox/feed", params={"after": second}, timeout=5).json() == {
        "ids": [], "cards": [], "status": "0 messages · live"}


def test_page_in_chinese(inbox: Inbox) -> None:
    inbox.lang = "zh"
    requests.post(inbox.url + "/cgi-bin/webhook/send?key=bad", json={"msgtype": "text", "text": {"content": "x"}},
                  timeout=5)
    requests.post(inbox.url + "/api/send/message", json={**WX, "content": "```\n" + TRACEBACK + "\n```",
                                                         "contentType": 3}, timeout=5)
    page = requests.get(inbox.url + "/", timeout=5).text
    assert '<html lang="zh-CN">' in page and "<title>wxnotify 收件箱</title>" in page
    for words in ("2 条消息 · 实时更新", "连不上收件箱，正在重试…", "还没有消息", "服务拒收：93000", "展开前面 30 行"):
        assert words in html.unescape(page), words
    for english in ("messages · live", "not reachable", "No messages yet", "rejected", "earlier lines"):
        assert english not in page, english


def test_every_word_of_the_inbox_has_a_chinese_entry() -> None:
    calls = []
    for path in INBOX_SRC.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("tr", "N_"):
                assert isinstance(node.args[0], ast.Constant), f"{path.name}:{node.lineno}: tr() of a non-literal"
                calls.append(node.args[0].value)
    assert len(calls) >= 15
    assert [text for text in calls if text not in ZH] == []


def test_without_the_rendering_libraries_content_is_escaped_text() -> None:
    script = f"""
import sys, requests
sys.modules["nh3"] = None  # as if not installed
from wxnotify_magic.inbox import Inbox
with Inbox(lang="en") as inbox:
    requests.post(inbox.url + "/send", json={{"token": "{PP_TOKEN}", "content": "<script>x()</script>**b**"}})
    print(requests.get(inbox.url + "/").text)
"""
    page = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True).stdout
    assert '<pre class="text">&lt;script&gt;x()&lt;/script&gt;**b**</pre>' in page
    assert "pip install &#x27;wxnotify-magic[inbox]&#x27;" in page
