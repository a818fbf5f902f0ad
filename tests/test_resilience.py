"""No notification stuck or held by a bad network, a slow or hostile endpoint, or a bad settings file.
Faults come from the inbox or from raw loopback servers (``rawhttp``)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
import time
from typing import Any

import pytest
from conftest import WECOM_KEY, WX_TOKEN, assert_no_secret, loaded, wait_until
from rawhttp import RawServer, dead_port_url, wxpusher_ok

from wxnotify_magic.message import Notification
from wxnotify_magic.providers import parse_destination

PP_TOKEN = "test0123456789abcdef0123456789ab"
URLS = {"serverchan": "schan://SCT1234Ttest0123456789abc", "pushplus": f"pushplus://{PP_TOKEN}",
        "wecombot": f"wecombot://{WECOM_KEY}", "wxpusher": f"wxpusher://{WX_TOKEN}/UID_test_a"}



def note(title: str = "job") -> Notification:
    return Notification(status="success", title=title, started=time.time() - 3, ended=time.time(), text="ok")



# -- 12. a request that cannot even be built never leaves its item in 'sending' ----------------------------------


def test_a_malformed_api_base_retries_the_item_with_its_reason(ip, monkeypatch, capsys):
    monkeypatch.setenv("WXNOTIFY_API_BASE", "http://[::1")
    assert ip.run_cell(f"%%wxnotify --to {URLS['wecombot']}\nx = 1").success
    from wxnotify_magic import delivery

    outbox = delivery.get_sender().outbox
    assert wait_until(lambda: outbox.items()[0].status != "sending" and outbox.items()[0].reason)
    (item,) = outbox.items()
    assert item.status in ("pending", "failed") and "WXNOTIFY_API_BASE" in item.reason
    ip.run_cell("%wxnotify wait 0").raise_error()  # the cell did not wait: what became of it
    ip.run_cell("%wxnotify").raise_error()
    out = capsys.readouterr()
    assert "WXNOTIFY_API_BASE" in out.out and "outbox: 1 pending" in out.out


# -- 13. only answered calls count: an outage does not use up a day's quota ----------------------------------


@pytest.mark.parametrize("provider", ["serverchan", "pushplus"])
def test_a_25_second_outage_does_not_hold_the_service(sender, clock, inbox, monkeypatch, provider):
    monkeypatch.setenv("WXNOTIFY_API_BASE", dead_port_url())  # connection refused: no answer, so no count
    sender.submit(note(), [parse_destination(URLS[provider])])
    start = clock.now
    while (due := sender.outbox.next_due()) is not None and due < start + 25:
        clock.now = max(clock.now, due)
        sender.run_once()
    (item,) = sender.outbox.items()
    assert item.status == "pending" and item.attempts >= 4  # it kept trying through the outage
    monkeypatch.setenv("WXNOTIFY_API_BASE", inbox.url)  # the service is back
    while (due := sender.outbox.next_due()) is not None and due < start + 60:
        clock.now = max(clock.now, due)
        sender.run_once()
    (item,) = sender.outbox.items()
    assert item.status == "delivered", item.reason
    assert [m["accepted"] for m in inbox.messages] == [True]


# -- 14. Retry-After: capped at an hour, junk ignored --------------------------------------------------------


def test_a_year_long_retry_after_is_capped_at_an_hour(sender, clock, inbox):
    inbox.add_fault("status", status=429, retry_after=31536000)
    sender.submit(note(), [parse_destination(URLS["wecombot"])])
    sender.run_once()
    (item,) = sender.outbox.items()
    assert item.status == "pending" and clock.now + 60 < item.next_try <= clock.now + 3600


@pytest.mark.parametrize("value", ["inf", "nan", "-inf", "junk", "1e999", "Fri, 31 Dec 9999 23:59:59 GMT", ""])
def test_junk_retry_after_is_ignored(sender, clock, monkeypatch, value):
    with RawServer(lambda h: h.answer(503, b"busy", {"Retry-After": value})) as server:
        monkeypatch.setenv("WXNOTIFY_API_BASE", server.url)
        sender.submit(note(), [parse_destination(URLS["wecombot"])])
        sender.run_once()
    (item,) = sender.outbox.items()
    assert item.status == "pending" and math.isfinite(item.next_try)
    assert item.next_try <= clock.now + 3600


# -- 15. a slow endpoint holds only its own lane; a trickling answer meets a deadline --------------------------


def trickle_wecom(handler: Any) -> None:
    """WeCom answers one byte a second; WxPusher answers at once."""
    if "/cgi-bin/webhook/send" in handler.path:
        handler.stream(1000, b" ", pause=1.0)
    else:
        wxpusher_ok(handler)


def test_a_trickling_wecom_endpoint_does_not_delay_wxpusher(home, monkeypatch):
    from wxnotify_magic import delivery, send

    with RawServer(trickle_wecom) as server:
        monkeypatch.setenv("WXNOTIFY_API_BASE", server.url)
        assert send("slow", to=URLS["wecombot"], wait=0).status == "pending"
        assert wait_until(lambda: server.seen("/cgi-bin/webhook/send") == 1)
        receipt = send("healthy", to=URLS["wxpusher"], wait=10)
        assert receipt.ok, receipt.line  # delivered while WeCom is still trickling its answer
        wecom = [i for i in delivery.get_sender().outbox.items() if i.provider == "wecombot"]
        assert [i.status for i in wecom] == ["sending"]


def test_a_trickling_answer_ends_at_the_deadline(home):
    from wxnotify_magic.transport import Transport, TransportError

    dest = parse_destination(URLS["wecombot"])
    request = dest.provider.build(note(), dest)[0]
    with RawServer(trickle_wecom) as server, pytest.raises(TransportError, match="longer than"):
        Transport(api_base=server.url, deadline=1.5).send(request, dest.secrets)


# -- 16. a huge answer is not read whole ---------------------------------------------------------------------


def test_a_300_mb_answer_keeps_memory_small(home):
    def huge(handler: Any) -> None:
        handler.stream(300 * 1024 * 1024, b"x" * 65536)

    with RawServer(huge) as server:
        proc = subprocess.run([sys.executable, "-c", textwrap.dedent(f"""
            import resource
            import requests  # loaded before measuring
            from wxnotify_magic.providers.base import HttpRequest
            from wxnotify_magic.transport import Transport
            request = HttpRequest("POST", "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key={WECOM_KEY}",
                                  json={{"msgtype": "text", "text": {{"content": "hi"}}}})
            transport = Transport(api_base={server.url!r})
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            response = transport.send(request, [])
            after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            print(len(response.text), (after - before) // 1024)
        """)], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    read, grown_mb = map(int, proc.stdout.split())
    assert read <= 1024 * 1024 and grown_mb < 40, proc.stdout


# -- 17. pacing, measured where the requests arrive ---------------------------------------------------------


def test_wxpusher_pacing_holds_at_the_receiving_side(home, inbox):
    """22 messages behind one app token (to 22 users, so none merge): never 3 in a second or 21 in 10 s."""
    from wxnotify_magic import send

    for i in range(22):
        send(f"m{i}", to=f"wxpusher://{WX_TOKEN}/UID_test_pace_{i:02d}", wait=0)
    arrived = sorted(m["time"] for m in inbox.wait_for(22, timeout=90) if m["service"] == "wxpusher")
    assert len(arrived) == 22
    assert min(arrived[i + 2] - arrived[i] for i in range(len(arrived) - 2)) >= 1.0
    assert min(arrived[i + 20] - arrived[i] for i in range(len(arrived) - 20)) >= 10.0


# -- 18. a bad settings file and bad durations -----------------------------------------------------------------



BAD_FILE = {"tail": -5, "wait": 1e300, "after": "soon", "on": "never", "settle": "x", "to": 5,
            "destinations": {"me": "wxpusher://AT_test_token_0123456789abcdef/UID_test_user_0001", "bad": 3}}


def test_bad_settings_file_values_are_skipped_with_one_warning_each(shell, home, inbox, capsys):
    home.mkdir(parents=True, exist_ok=True)
    (home / "settings.json").write_text(json.dumps(BAD_FILE))
    with loaded(shell) as ip:
        first = ip.run_cell("%%wxnotify\nx = 1")
        ip.run_cell("%wxnotify wait 30")  # the first is sent before the second is queued (else they go out merged)
        second = ip.run_cell("%%wxnotify\ny = 2")
        out = capsys.readouterr()
    assert first.success and second.success
    assert inbox.wait_for(2)[0]["accepted"]
    for key in ("tail", "wait", "after", "on", "settle", "to", "destinations"):
        assert out.err.count(f"ignoring {key} in ") == 1, (key, out.err)
    assert "Overflow" not in out.err + out.out and "Traceback" not in out.err + out.out
    assert_no_secret(out.out, out.err)


@pytest.mark.parametrize("line", ["--after inf", "--after nan", "--after 1e400", "--every nan", "--every 0",
                                  "--after -5", "--after 99999999999"])
def test_durations_reject_inf_nan_and_overflow(ip, capsys, line):
    result = ip.run_cell(f"%%wxnotify {line}\nran = True")
    assert not result.success and "ran" not in ip.user_ns
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "%%wxnotify" in err and "Overflow" not in err


def test_config_wait_overflow_is_refused_naming_wait(ip, inbox, capsys, caplog):
    ip.run_cell("%config WxNotify.wait = 1e300")
    ip.run_cell("%config WxNotify.wait = float('nan')")
    assert "wait must be between 0 and" in caplog.text
    assert ip.run_cell("%%wxnotify\nx = 1").success
    assert "Overflow" not in capsys.readouterr().err
    assert inbox.wait_for(1)[0]["accepted"]





# -- the environment's proxies are honoured (read once per origin and environment, not per request) -----------


def test_the_environment_proxy_is_used_and_no_proxy_skips_it(inbox, monkeypatch):
    from wxnotify_magic.transport import Transport, TransportError

    dest = parse_destination(URLS["wxpusher"])
    request = dest.provider.build(note(), dest)[0]
    for name in ("http_proxy", "no_proxy", "NO_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HTTP_PROXY", dead_port_url())  # a proxy that refuses every connection
    with pytest.raises(TransportError, match="connection"):
        Transport(api_base=inbox.url).send(request, dest.secrets)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")  # set after the first request: seen by the next one
    assert Transport(api_base=inbox.url).send(request, dest.secrets).status == 200
    monkeypatch.delenv("NO_PROXY")
    with pytest.raises(TransportError, match="connection"):
        Transport(api_base=inbox.url).send(request, dest.secrets)
