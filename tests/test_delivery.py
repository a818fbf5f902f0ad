"""Delivery: outbox before sending, retries, permanent errors, pacing, quotas, fallbacks, and crash recovery."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest
from conftest import WECOM_KEY, WX_TOKEN

from wxnotify_magic.delivery import Sender
from wxnotify_magic.message import Notification
from wxnotify_magic.outbox import Outbox
from wxnotify_magic.policy import WINDOW_PAD, WINDOW_STRETCH, backoff, pacing_wait
from wxnotify_magic.providers import parse_destination
from wxnotify_magic.status import Status

PP_TOKEN = "test0123456789abcdef0123456789ab"
URLS = {
    "wxpusher": f"wxpusher://{WX_TOKEN}/UID_test_a",
    "wxpusher-spt": "wxpusher://SPT_test_a",
    "pushplus": f"pushplus://{PP_TOKEN}",
    "serverchan": "schan://SCTtest123abc",
    "wecombot": f"wecombot://{WECOM_KEY}",
}
INBOX_SERVICE = {"wxpusher-spt": "wxpusher-spt", "serverchan": "serverchan"}
BUSINESS_ERROR = {"wxpusher": 1001, "wxpusher-spt": 1001, "pushplus": 903, "serverchan": 40001, "wecombot": 93000}


def note(title: str = "job") -> Notification:
    return Notification(status="success", title=title, started=time.time() - 3, ended=time.time(), text="ok")


def submit(sender, name, title="job", quotas=None):  # type: ignore[no-untyped-def]
    return sender.submit(note(title), [parse_destination(URLS[name])], quotas=quotas)


def drain(sender, clock, rounds=8):  # type: ignore[no-untyped-def]
    for _ in range(rounds):
        sender.run_once()
        due = sender.outbox.next_due()
        if due is None:
            return
        clock.now = max(clock.now, due)


def test_written_to_the_outbox_before_any_attempt(sender, inbox):
    ticket = submit(sender, "wxpusher")
    (item,) = sender.outbox.items()
    assert item.status == "pending" and inbox.messages == [] and item.id in ticket.ids
    assert WX_TOKEN not in repr(item)


def test_outbox_file_is_owner_only(sender):
    assert oct(sender.outbox.path.stat().st_mode & 0o777) == "0o600"


@pytest.mark.parametrize("provider", sorted(URLS))
@pytest.mark.parametrize("fault,params", [
    ("delay", {"seconds": 0.2}), ("status", {"status": 500}), ("status", {"status": 429, "retry_after": 30}),
    ("drop", {}), ("malformed", {}),
])
def test_transient_faults_retry_until_delivered(sender, clock, inbox, provider, fault, params):
    inbox.add_fault(fault, **params)
    ticket = submit(sender, provider)
    drain(sender, clock)
    (item,) = sender.outbox.items()
    assert item.status == "delivered", item.reason
    assert ticket.finished and ticket.wait(0)[0].status == "delivered"
    accepted = [m for m in inbox.messages if m["accepted"]]
    assert len(accepted) == 1
    if fault != "delay":
        assert item.attempts == 1  # one failed attempt, then success


def test_retry_after_is_honoured(sender, clock, inbox):
    inbox.add_fault("status", status=429, retry_after=120)
    submit(sender, "wecombot")
    sender.run_once()
    (item,) = sender.outbox.items()
    assert item.status == "pending" and item.next_try >= clock.now + 119


@pytest.mark.parametrize("provider", sorted(URLS))
def test_business_errors_are_permanent_and_never_retried(sender, clock, inbox, provider):
    inbox.add_fault("code", code=BUSINESS_ERROR[provider])
    ticket = submit(sender, provider)
    drain(sender, clock)
    (item,) = sender.outbox.items()
    assert item.status == "failed" and str(BUSINESS_ERROR[provider]) in item.reason
    assert len(inbox.messages) == 1  # exactly one call: repeated bad calls get accounts banned
    assert ticket.wait(0)[0].status == "failed"


def test_gives_up_after_bounded_retries(sender, clock, inbox):
    inbox.add_fault("status", status=503, count=20)
    submit(sender, "wecombot")
    drain(sender, clock, rounds=20)
    (item,) = sender.outbox.items()
    assert item.status == "failed" and "gave up" in item.reason and len(inbox.messages) == 6


def test_backoff_grows_with_jitter():
    lows = [backoff(n, lambda: 0.0) for n in range(1, 6)]
    highs = [backoff(n, lambda: 1.0) for n in range(1, 6)]
    assert lows == [1.0, 2.0, 4.0, 8.0, 16.0] and highs == [2.0, 4.0, 8.0, 16.0, 32.0]
    assert backoff(30, lambda: 1.0) == 600.0


def test_pacing_wait_keeps_every_window_with_a_margin():
    assert pacing_wait([], 100.0, 20, 60.0) == 0
    calls = [float(t) for t in range(20)]
    assert pacing_wait(calls, 20.0, 20, 60.0) == pytest.approx(60.0 * WINDOW_STRETCH + WINDOW_PAD - 20.0)
    assert pacing_wait([99.5, 99.9], 100.0, 2, 1.0) == pytest.approx(99.5 + WINDOW_STRETCH + WINDOW_PAD - 100.0)


def most_in_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + seconds) for i, start in enumerate(times)), default=0)


def test_one_token_is_paced_across_its_destinations(sender, clock, inbox):
    dests = [parse_destination(f"wxpusher://{WX_TOKEN}/UID_test_{i}") for i in range(25)]
    for i, dest in enumerate(dests):  # 25 destinations behind one WxPusher app token
        sender.submit(note(f"m{i}"), [dest])
    drain(sender, clock, rounds=200)
    assert len(inbox.messages) == 25 and sender.outbox.count("delivered") == 25
    token_key = next(k.key for k in dests[0].limit_keys() if not k.limit.daily)
    times = [t for t, _ in sender.outbox.calls_since({token_key: 0})[token_key]]
    assert len(times) == 25 and most_in_window(times, 1.0) <= 2 and most_in_window(times, 10.0) <= 20


def test_a_burst_for_one_destination_is_merged_into_one_message(sender, clock, inbox):
    tickets = [submit(sender, "wecombot", f"cell {i}") for i in range(25)]
    drain(sender, clock)
    (message,) = inbox.messages
    assert all(f"cell {i}" in message["content"] for i in range(25))
    results = [r for t in tickets for r in t.wait(0)]
    assert {r.status for r in results} == {"delivered", "merged"}
    assert "25 messages merged into one" in results[0].note


def test_daily_quota_holds_and_warns(sender, clock, inbox):
    tickets = []
    for i in range(4):  # one at a time (a burst would be merged into one message)
        tickets.append(submit(sender, "serverchan", f"job {i}", quotas={"serverchan": 3}))
        sender.run_once()
        clock.advance(2)
    assert len(inbox.messages) == 3
    notes = [r.note for t in tickets for r in t.wait(0) if r.note]
    assert len(notes) == 1 and notes[0].startswith("daily quota nearly used: 3 of 3 today (SendKey SCT…")
    held = [i for i in sender.outbox.items() if i.status == "pending"]
    assert len(held) == 1 and "daily quota" in held[0].reason


def test_pushplus_same_content_at_most_3_an_hour(sender, clock, inbox):
    same = Notification(status="success", title="same", started=1.7e9, ended=1.7e9 + 3, text="ok")  # fixed times:
    for _ in range(4):  # the real clock could tick over a second between two and make the contents differ
        sender.submit(same, [parse_destination(URLS["pushplus"])])
        sender.run_once()
        clock.advance(61)
    assert len(inbox.messages) == 3
    pending = sender.outbox.items("pending")
    assert len(pending) == 1 and pending[0].next_try > clock.now + 3000


def test_fallback_takes_over_after_a_permanent_failure(sender, clock, inbox):
    bad = parse_destination("wxpusher://AT_test_bad_token/UID_test_a", name="me")
    team = parse_destination(URLS["wecombot"], name="team")
    ticket = sender.submit(note(), [bad], fallbacks={"me": team})
    drain(sender, clock)
    results = ticket.wait(0)
    assert [r.status for r in results] == ["failed", "delivered"]
    assert [m["service"] for m in inbox.messages] == ["wxpusher", "wecombot"]


def test_progress_pings_keep_only_the_newest(sender, clock, inbox):
    dest = parse_destination(URLS["wecombot"])
    for i in range(3):
        sender.submit(Notification(status="running", title=f"ping {i}"), [dest], kind="ping")
    drain(sender, clock)
    assert [m["content"].splitlines()[0] for m in inbox.messages] == ["### ⏳ ping 2 still running"]


def test_retry_requeues_failed_items(sender, clock, inbox):
    inbox.add_fault("code", code=93000)
    submit(sender, "wecombot")
    drain(sender, clock)
    assert sender.outbox.count("failed") == 1
    assert sender.outbox.requeue_failed(now=clock.now) == 1
    drain(sender, clock)
    assert sender.outbox.count("delivered") == 1


def test_retry_sends_an_item_whose_lane_another_process_pruned(sender, clock, inbox):
    """Prune() forgets the lane of a token whose items all failed; retry must bring it back."""
    inbox.add_fault("code", code=1001)
    submit(sender, "wxpusher", "important")
    drain(sender, clock)
    assert sender.outbox.count("failed") == 1
    sender.outbox.prune(clock.now - 86400)  # another process starts its sender: the failed token's lane goes
    assert sender.outbox.requeue_failed(now=clock.now) == 1
    drain(sender, clock)
    assert sender.outbox.count("delivered") == 1 and sender.outbox.count("pending") == 0
    assert [m["accepted"] for m in inbox.messages] == [False, True]


@pytest.mark.parametrize("fault", [None, 1001])
def test_items_settled_by_another_sender_settle_this_senders_tickets(sender, clock, inbox, home, fault):
    """A message merged into another process's digest (or sent by it) settles its own ticket."""
    if fault:
        inbox.add_fault("code", code=fault)
    other = Sender(Outbox(home / "outbox.sqlite3"), clock=clock)
    other.start = lambda: True  # type: ignore[method-assign]
    theirs = submit(other, "wxpusher", "theirs")
    mine = submit(sender, "wxpusher", "mine")
    other.run_once()  # the other process sends its message, with mine merged into it
    assert not mine.finished and sender._settled_elsewhere() is False
    [result] = mine.current()
    assert theirs.finished and mine.finished
    if fault:
        assert result.status == "failed" and "1001" in result.reason
    else:
        assert result.status == "merged" and result.note == "merged into a message sent by another process"
        assert "mine" in inbox.messages[0]["content"] and "theirs" in inbox.messages[0]["content"]
    other.outbox.close()


def test_two_kernels_share_the_outbox_without_double_sends(home, inbox):
    """Several processes drain one outbox at once: every item is delivered exactly once."""
    path = home / "outbox.sqlite3"
    box = Outbox(path)
    for i in range(30):
        dest = parse_destination(f"wxpusher://AT_test_token_{i:04d}/UID_test_{i}")  # 30 tokens: no pacing
        box.add(provider=dest.provider.name, dest_key=dest.key, lane=dest.provider.lane(dest),
                dest_label=dest.redacted, dest_url=dest.url, notification=note(f"n{i}").to_dict())
    script = textwrap.dedent(f"""
        from pathlib import Path
        from wxnotify_magic.delivery import Sender
        from wxnotify_magic.outbox import Outbox
        s = Sender(Outbox(Path({str(path)!r})))
        while s.run_once():
            pass
    """)
    env = {**os.environ, "WXNOTIFY_API_BASE": inbox.url}
    procs = [subprocess.Popen([sys.executable, "-c", script], env=env) for _ in range(3)]
    assert all(p.wait(60) == 0 for p in procs)
    titles = sorted(m["title"] for m in inbox.messages)
    assert len(titles) == 30 and len(set(titles)) == 30
    assert box.count("delivered") == 30


def test_kernel_killed_mid_send_delivers_after_restart(home, inbox, tmp_path):
    """A kernel dies while the service is answering; the next load of the extension delivers it."""
    env = {**os.environ, "WXNOTIFY_API_BASE": inbox.url, "IPYTHONDIR": str(tmp_path / "ipy")}
    inbox.add_fault("delay", seconds=3.0)
    first = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import time
        from IPython.testing.globalipapp import start_ipython
        ip = start_ipython()
        ip.run_line_magic("load_ext", "wxnotify_magic")
        ip.run_cell("%config WxNotify.wait = 0.1")
        ip.run_cell("%%wxnotify -t 'six hour training'\\nx = 1")
        time.sleep(60)
    """)], env=env, stdout=subprocess.DEVNULL)
    db = home / "outbox.sqlite3"
    deadline = time.monotonic() + 30
    try:
        while time.monotonic() < deadline:
            if db.exists() and _statuses(db) == ["sending"]:
                break
            time.sleep(0.05)
        assert _statuses(db) == ["sending"]
    finally:  # never leave it running: its sender would answer a later test's fault
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    inbox.clear()
    second = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import time, sqlite3, os
        from IPython.testing.globalipapp import start_ipython
        ip = start_ipython()
        ip.run_line_magic("load_ext", "wxnotify_magic")   # resumes what the dead kernel left
        db = os.path.join(os.environ["WXNOTIFY_HOME"], "outbox.sqlite3")
        for _ in range(200):
            if [r[0] for r in sqlite3.connect(db).execute("SELECT status FROM outbox")] == ["delivered"]:
                break
            time.sleep(0.05)
    """)], env=env, timeout=60, capture_output=True, text=True)
    assert second.returncode == 0, second.stderr
    assert _statuses(db) == ["delivered"]
    assert [m["title"].rsplit(" · ", 1)[0] for m in inbox.messages if m["accepted"]] == \
        ["✅ six hour training finished"]


def _statuses(db) -> list[str]:  # type: ignore[no-untyped-def]
    """The statuses in the outbox; [] while the other process has not created its table yet."""
    try:
        with sqlite3.connect(db) as con:
            return [r[0] for r in con.execute("SELECT status FROM outbox ORDER BY id")]
    except sqlite3.OperationalError:
        return []


@pytest.mark.parametrize("kind", ["ping", "stall"])
def test_pings_are_dropped_first_when_the_quota_is_tight(sender, clock, inbox, kind):
    dest = parse_destination(URLS["serverchan"])
    submit(sender, "serverchan", "first final", quotas={"serverchan": 2})
    drain(sender, clock)
    ping = sender.submit(Notification(status="running", title="ping"), [dest], kind=kind, quotas={"serverchan": 2})
    drain(sender, clock)
    assert ping.wait(0)[0].status == "dropped" and "quota" in ping.wait(0)[0].reason
    final = submit(sender, "serverchan", "last final", quotas={"serverchan": 2})
    drain(sender, clock)
    assert final.wait(0)[0].status == "delivered"
    titles = [m["title"] for m in inbox.messages]
    assert titles == ["✅ first final finished · 3.0 s", "✅ last final finished · 3.0 s"]


# -- every fault for every provider, as a user meets it: a real cell, then %wxnotify retry ---------------

FAULTS = [("delay", {"seconds": 1.5}, "transient"), ("status", {"status": 500}, "transient"),
          ("status", {"status": 429, "retry_after": 1}, "transient"), ("drop", {}, "transient"),
          ("malformed", {}, "transient"), ("code", {}, "permanent")]


@pytest.mark.parametrize("provider", sorted(URLS))
@pytest.mark.parametrize("fault,params,kind", FAULTS, ids=[f[0] + str(f[1].get("status", "")) for f in FAULTS])
def test_fault_never_breaks_the_cell_and_nothing_is_lost(ip, inbox, capsys, provider, fault, params, kind):
    ip.run_cell("%config WxNotify.wait = 0.5").raise_error()
    if fault == "code":
        params = {"code": BUSINESS_ERROR[provider]}
    inbox.add_fault(fault, **params)
    res = ip.run_cell(f"%%wxnotify --to {URLS[provider]}\nresult = 6 * 7\nresult")
    assert res.success and res.result == 42 and res.error_in_exec is None  # the cell is unchanged
    ip.run_cell("%wxnotify wait 0.5").raise_error()  # a terminal cell never waits: what became of it by now
    out = capsys.readouterr()
    from wxnotify_magic import delivery

    outbox = delivery.get_sender().outbox
    if kind == "permanent":
        assert "failed" in out.err and str(BUSINESS_ERROR[provider]) in out.err
        (item,) = outbox.items()
        assert item.status == "failed" and str(BUSINESS_ERROR[provider]) in item.reason
        return
    assert "still sending" in out.out or "held" in out.out
    ip.run_cell("%wxnotify retry").raise_error()  # sends what is pending now, without waiting for backoff
    if provider == "serverchan" and params.get("status") == 429:  # its daily per-IP limit: a cool-down, which a
        (item,) = outbox.items()  # retry by hand does not end (that is how accounts get banned)
        assert item.status == "pending" and "(cool-down)" in item.reason and len(inbox.messages) == 1
        return
    deadline = time.monotonic() + 10
    while outbox.items()[0].status != "delivered" and time.monotonic() < deadline:
        time.sleep(0.05)
    assert outbox.items()[0].status == "delivered"
    assert len([m for m in inbox.messages if m["accepted"]]) == 1


def test_pending_notifications_are_flushed_when_the_process_exits(home, inbox):
    inbox.add_fault("delay", seconds=1.0)
    code = textwrap.dedent(f"""
        from wxnotify_magic.api import send
        r = send("sent just before exit", to={URLS['wecombot']!r}, wait=0.05)
        print(r.status)
    """)
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ}, capture_output=True, text=True, timeout=30)
    assert out.stdout.strip().splitlines()[0] == "pending"
    assert _statuses(home / "outbox.sqlite3") == ["delivered"]  # the exit waited (bounded) for it
    assert [m["accepted"] for m in inbox.messages] == [True]


def test_prune_keeps_pending_items(sender, clock):
    submit(sender, "wecombot", "pending one")
    sender.outbox.log_call(["k"], now=clock.now - 40 * 86400)
    sender.outbox.prune(clock.now + 1)
    assert sender.outbox.count("pending") == 1 and sender.outbox.calls_since({"k": 0}) == {"k": []}


MERGE_THEN_DIE = """
import os, signal, sys
from pathlib import Path
from wxnotify_magic import delivery
from wxnotify_magic.delivery import Sender
from wxnotify_magic.message import Notification
from wxnotify_magic.outbox import Outbox
from wxnotify_magic.providers import parse_destination

sender = Sender(Outbox(Path(sys.argv[1])))
sender.start = lambda: True  # driven by hand
dest = parse_destination(sys.argv[2])
for n in range(3):
    sender.submit(Notification(status="message", title=f"burst {n}", text=f"burst text {n}"), [dest])

def killed(notes):  # the process dies between marking the burst merged and storing its digest
    os.kill(os.getpid(), signal.SIGKILL)

delivery.digest = killed
sender.run_once()
"""


def test_a_process_killed_in_the_middle_of_a_merge_loses_nothing(home, inbox):
    db = home / "outbox.sqlite3"
    home.mkdir(parents=True, exist_ok=True)
    proc = subprocess.run([sys.executable, "-c", MERGE_THEN_DIE, str(db), URLS["wecombot"]], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr
    sender = Sender(Outbox(db))
    try:
        sender.run_once()
        assert sender.flush(30, ahead=True)
    finally:
        sender.stop()
        sender.outbox.close()
    text = "\n".join(m["content"] for m in inbox.messages if m["accepted"])
    assert all(f"burst text {n}" in text for n in range(3)), text


def test_a_message_to_a_free_lane_is_claimed_in_the_transaction_that_writes_it(home):
    """One transaction instead of two before a lone message starts; a lane with anything else to send, held for
    pacing, or busy in this process is not jumped."""
    box = Outbox(home / "claimed.sqlite3")
    try:
        fields = {"provider": "wxpusher", "dest_key": "k", "dest_label": "l", "dest_url": "wxpusher://x",
                  "notification": note().to_dict()}
        first_id, first = box.add_claimed(60.0, lane="free", **fields)
        assert first is not None and first.id == first_id and first.status == "sending"
        second_id, second = box.add_claimed(60.0, lane="free", **fields)  # the first is being sent
        assert second is None and box.get(second_id).status == "pending"
        assert box.add_claimed(60.0, busy_lanes={"busy"}, lane="busy", **fields)[1] is None
        box.hold_lane("held", time.time() + 60)
        held_id, held = box.add_claimed(60.0, lane="held", **fields)
        assert held is None and box.get(held_id).status == "pending"
        assert box.claim(60.0, busy_lanes={"busy"}) == []  # each waits its turn, as the loop sees it too
        box.update(first_id, status=Status.DELIVERED)
        assert [i.id for i in box.claim(60.0, busy_lanes={"busy"})] == [second_id]
    finally:
        box.close()


def test_a_message_submitted_while_a_burst_is_merged_waits_only_for_the_merge(home, inbox, monkeypatch):
    """The worker merging a burst holds the outbox for one transaction; a cell writing meanwhile waits for that
    transaction only (they once waited for each other until the cell's wait ran out and its message went to
    memory)."""
    import threading

    from wxnotify_magic import delivery

    merging, real_digest = threading.Event(), delivery.digest

    def slow_digest(notes):  # type: ignore[no-untyped-def]
        merging.set()
        time.sleep(0.3)
        return real_digest(notes)

    monkeypatch.setattr(delivery, "digest", slow_digest)
    sender = Sender(Outbox(home / "outbox.sqlite3"))
    try:
        burst = parse_destination(URLS["wecombot"])
        for n in range(3):  # the first goes at once; the other two wait their turn and go as one digest
            sender.submit(note(f"burst {n}"), [burst])
        assert merging.wait(30), "the burst was never merged"
        ticket = sender.submit(note("meanwhile"), [parse_destination(URLS["pushplus"])], wait=5.0)
        assert all(i > 0 for i in ticket.ids), "written to memory after waiting out its wait"
    finally:
        sender.stop()
        sender.outbox.close()


def test_a_claim_and_the_next_due_time_cost_the_same_however_many_items_wait(home):
    """Counted in SQLite's own steps, not timed: a lane with 2,000 items waiting once made every claim and every
    look at the next due time read all of them (a drain of 10,000 items took 250 s of CPU)."""
    box = Outbox(home / "many.sqlite3")
    fields = {"provider": "wxpusher", "dest_key": "k", "dest_label": "l", "dest_url": "wxpusher://x",
              "notification": note().to_dict(), "lane": "one token"}

    def steps(action) -> int:  # type: ignore[no-untyped-def]
        count = [0]
        db = box.store.db()
        db.set_progress_handler(lambda: count.__setitem__(0, count[0] + 1) or 0, 1)
        try:
            action()
        finally:
            db.set_progress_handler(None, 1)
        return count[0]

    try:
        costs = []
        for waiting in (20, 2000):
            with box.batch():
                for _ in range(waiting - len(box.items("pending", limit=10_000))):
                    box.add(**fields)
            costs.append((steps(box.next_due), steps(lambda: box.claim(60.0, busy_lanes={"one token"}))))
        (due_few, claim_few), (due_many, claim_many) = costs
        assert due_many < 2 * due_few and claim_many < 2 * claim_few, costs
    finally:
        box.close()
