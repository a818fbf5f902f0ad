"""The card and the body on each service, from a real shell: each thing said once, in a phone-first order."""

from __future__ import annotations

import re
from typing import Any

import pytest
from conftest import WECOM_KEY, WX_TOKEN, settled

PP_TOKEN = "test0123456789abcdef0123456789ab"
SERVICES = {  # url, where the card goes (a title field, or the first line of the content)
    "wxpusher": (f"wxpusher://{WX_TOKEN}/UID_test_a", "title"),
    "pushplus": (f"pushplus://{PP_TOKEN}", "title"),
    "serverchan": ("schan://SCTtest123abc", "title"),
    "wecombot": (f"wecombot://{WECOM_KEY}", "first line"),
    "wecombot-text": (f"wecombot://{WECOM_KEY}?mention=@all", "first line"),
}
CELL = "%%wxnotify -t export --to {url}\nprint('rows 1-100 written')\nraise ValueError('column 7 is empty')"
EXC = "ValueError: column 7 is empty"


def _card_and_body(msg: dict[str, Any], where: str) -> tuple[str, str]:
    if where == "title":
        return msg["title"], msg["content"]
    first, _, rest = msg["content"].partition("\n")
    return first.removeprefix("### "), rest


@pytest.mark.parametrize("service", list(SERVICES))
@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_card_says_verdict_job_duration_and_exception_once(ip: Any, inbox: Any, service: str, lang: str) -> None:
    url, where = SERVICES[service]
    ip.run_line_magic("config", f"WxNotify.lang = '{lang}'")
    ip.run_cell(CELL.format(url=url))
    (msg,) = settled(inbox)
    card, body = _card_and_body(msg, where)
    verdict = {"en": "export failed", "zh": "export 失败"}[lang]
    assert re.fullmatch(rf"❌ {verdict} · [\d.]+ ?(s|秒) · {EXC}", card) or (
        service == "serverchan" and card.startswith(f"❌ {verdict}")), card  # ServerChan's title holds 32
    duration = card.split(" · ")[1]
    assert duration not in body and "Duration" not in body and "耗时" not in body  # the duration: once
    assert "export" not in body  # the job's name: once, on the card
    assert body.count(EXC) == (1 if where == "first line" else 2)  # in the traceback (and leading a titled body)
    assert body.count("rows 1-100 written") == 1  # the output, once (not again inside a printed traceback)
    order = [body.index("rows 1-100"), body.index("Traceback (most recent call last)"),
             body.index("Host" if lang == "en" else "主机")]
    assert order == sorted(order), body  # output, traceback, then the facts
    if lang == "zh":
        assert re.search(r"主机(\*\*|</b>)?：", body) and not re.search(r"主机(\*\*|</b>)?:", body)  # full-width


def test_wecom_sends_markdown_with_colour_when_there_is_no_code(ip: Any, inbox: Any) -> None:
    ip.run_cell(f"%wxsend --to wecombot://{WECOM_KEY} -t nightly backup done, 3 files")
    (msg,) = settled(inbox)
    assert msg["body"]["msgtype"] == "markdown", msg["body"]
    content = msg["body"]["markdown"]["content"]
    assert content.startswith("### 💬 nightly") and '<font color="comment">' in content
    assert "--" not in content  # no "-- Traceback --" log headers
