"""Pacing and quotas counted the way each service counts: per token, per bot, per SendKey, per recipient."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import WX_TOKEN

from wxnotify_magic import policy
from wxnotify_magic.message import Notification
from wxnotify_magic.policy import Action, decide, next_day
from wxnotify_magic.providers import parse_destination


def job(status: str = "success", title: str = "train") -> Notification:
    return Notification(status=status, title=title, started=time.time() - 60, ended=time.time())


def most_in_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + seconds) for i, start in enumerate(times)), default=0)


def uid_key(dest, uid):  # type: ignore[no-untyped-def]
    return next(k for k in dest.limit_keys() if k.limit.daily and k.value == uid)


# -- what is counted by what -----------------------------------------------------------------------------


def test_destinations_sharing_a_token_share_its_counters():
    me = parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_a", name="me")
    team = parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_b/UID_test_c", name="team")
    rate = {k.key for k in me.limit_keys() if not k.limit.daily}
    assert rate == {k.key for k in team.limit_keys() if not k.limit.daily}
    assert me.provider.lane(me) == team.provider.lane(team)
    daily = [k for k in team.limit_keys() if k.limit.daily]
    assert [k.value for k in daily] == ["UID_test_b", "UID_test_c"] and all(k.limit.count == 500 for k in daily)
    for url in ("pushplus://test0123456789abcdef0123456789ab", "pushplus://test0123456789abcdef0123456789ab/grp"):
        keys = parse_destination(url).limit_keys()
        assert len(keys) == 3 and len({k.key for k in keys}) == 1  # 5/min, 200/day, same content 3/h: one token
    assert {k.key for k in parse_destination("pushplus://test0123456789abcdef0123456789ab").limit_keys()} == \
        {k.key for k in parse_destination("pushplus://test0123456789abcdef0123456789ab/grp").limit_keys()}


# -- the pure policy ----------------------------------------------------------------------------------------


def test_policy_splits_a_message_when_one_recipient_is_over_its_day():
    dest = parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_full/UID_test_free")
    now = time.time()
    calls = {uid_key(dest, "UID_test_full").key: [(now - 60, "")] * 500}
    decision = decide(dest.limit_keys(), calls, now)
    assert decision.action == Action.SEND and decision.send_to == ("UID_test_free",)
    assert decision.until == next_day(now) and "UID" in decision.reason


def test_policy_keeps_a_reserve_for_failures_and_drops_pings_first():
    dest = parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_a")
    now = time.time()
    reserve = policy.failure_reserve(500)
    assert reserve == 25
    calls = {uid_key(dest, "UID_test_a").key: [(now - 60, "")] * (500 - reserve)}
    assert decide(dest.limit_keys(), calls, now, kind="final").action == Action.HOLD
    assert decide(dest.limit_keys(), calls, now, kind="final", failure=True).action == Action.SEND
    assert decide(dest.limit_keys(), calls, now, kind="ping").action == Action.DROP
    one_less = {k: v[:-1] for k, v in calls.items()}  # room for one final: a ping must leave it
    assert decide(dest.limit_keys(), one_less, now, kind="final").action == Action.SEND
    assert decide(dest.limit_keys(), one_less, now, kind="ping").action == Action.DROP


def test_policy_paces_with_a_margin():
    dest = parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_a")
    now = 1000.0
    token = next(k.key for k in dest.limit_keys() if k.limit.seconds == 1.0)
    decision = decide(dest.limit_keys(), {token: [(999.5, ""), (999.9, "")]}, now)
    assert decision.action == Action.HOLD and decision.lane_wide
    assert decision.until == pytest.approx(999.5 + policy.WINDOW_STRETCH + policy.WINDOW_PAD)


# -- the engine, on a simulated clock --------------------------------------------------------------------


def test_a_recipient_at_its_daily_limit_is_held_while_the_other_gets_it(sender, clock, inbox):
    dest = parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_full/UID_test_free")
    sender.outbox.log_call([uid_key(dest, "UID_test_full").key] * 1, now=clock.now - 10)
    for _ in range(499):
        sender.outbox.log_call([uid_key(dest, "UID_test_full").key], now=clock.now - 10)
    ticket = sender.submit(job(), [dest])
    sender.run_once()
    (first,) = inbox.messages
    assert first["body"]["uids"] == ["UID_test_free"]
    results = ticket.wait(0)
    assert [r.status for r in results] == ["delivered", "pending"]
    assert "held until tomorrow" in results[1].reason and "UID_test_full" not in results[1].reason
    assert not ticket.finished
    clock.now = next_day(clock.now) + 1
    sender.run_once()
    assert [m["body"]["uids"] for m in inbox.messages] == [["UID_test_free"], ["UID_test_full"]]
    assert ticket.finished and [r.status for r in ticket.wait(0)] == ["delivered", "delivered"]


def test_a_failure_still_goes_out_from_the_reserve(sender, clock, inbox):
    dest = parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_a")
    key = uid_key(dest, "UID_test_a").key
    for _ in range(500 - policy.failure_reserve(500)):
        sender.outbox.log_call([key], now=clock.now - 10)
    success = sender.submit(job("success", "fine"), [dest])
    sender.run_once()
    assert inbox.messages == [] and "daily quota" in success.wait(0)[0].reason
    clock.now += 5
    failure = sender.submit(job("failed", "diverged"), [parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_a/")])
    sender.run_once()
    assert [m["title"].split(" ")[1] for m in inbox.messages] == ["diverged"]
    assert failure.wait(0)[0].status == "delivered"


def test_quota_overrides_apply_by_name(sender, clock, inbox):
    dest = parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_a")
    key = uid_key(dest, "UID_test_a").key
    for _ in range(3):
        sender.outbox.log_call([key], now=clock.now - 10)
    ticket = sender.submit(job(), [dest], quotas={"wxpusher": 3})
    sender.run_once()
    assert inbox.messages == [] and "daily quota of 3" in ticket.wait(0)[0].reason


# -- two processes, one token, at the receiving side ---------------------------------------------------------


def test_two_processes_sharing_a_token_never_exceed_its_rate(home, inbox):
    script = textwrap.dedent(f"""
        import sys, time
        from wxnotify_magic import delivery
        from wxnotify_magic.message import Notification
        from wxnotify_magic.providers import parse_destination
        who = sys.argv[1]
        sender = delivery.get_sender()
        for i in range(6):  # six destinations each, all behind one app token
            dest = parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_{{who}}_{{i}}")
            sender.submit(Notification(title=f"{{who}} {{i}}", text="x"), [dest])
        deadline = time.monotonic() + 60
        while sender.outbox.count("pending") + sender.outbox.count("sending") and time.monotonic() < deadline:
            sender.flush(1)
    """)
    env = {**os.environ, "WXNOTIFY_API_BASE": inbox.url}
    procs = [subprocess.Popen([sys.executable, "-c", script, who], env=env) for who in ("a", "b")]
    assert all(p.wait(90) == 0 for p in procs)
    messages = inbox.wait_for(12, timeout=30)
    arrived = [m["time"] for m in messages if m["service"] == "wxpusher"]
    assert len(arrived) == 12
    assert most_in_window(arrived, 1.0) <= 2 and most_in_window(arrived, 10.0) <= 20


# -- what the user reads ----------------------------------------------------------------------------------


def test_status_counts_by_what_each_service_counts(ip, inbox, capsys):
    ip.run_cell("%config WxNotify.destinations = {'me': 'pushplus://test0123456789abcdef0123456789ab', "
                "'bot': 'wecombot://test-wecom-key-0123456789', 'sc': 'schan://SCT1234TtestkeyABCDEF'}").raise_error()
    ip.run_cell("%config WxNotify.to = ['me', 'bot', 'sc']").raise_error()
    ip.run_cell("%wxsend hello").raise_error()
    capsys.readouterr()
    ip.run_cell("%wxnotify").raise_error()
    out = capsys.readouterr().out
    assert "Token …89ab: 1 of 200 today" in out and "SendKey SCT…CDEF: 1 of 5 today" in out
    assert "test0123456789abcdef0123456789ab" not in out and "SCT1234TtestkeyABCDEF" not in out
