"""One count across hosts: the limits ledger in a real Redis (started by the test on a loopback port).

Each "host" is a process with its own home (its own outbox); they share one token's rate and one SendKey's
daily quota, counted at the receiving side (the inbox emulator). A distributed job's failure is reported once
for all its hosts, Redis killed mid-run loses nothing, and Redis never holds a token or a piece of one.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import WX_TOKEN, WX_UID

REDIS_SERVER = shutil.which("redis-server")
pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed (apt-get install "
                                                             "redis-server; .ci/run does)")
SC_KEY = "SCT1234Ttest_fake_sendkey_shared"
SC_URL = f"schan://{SC_KEY}"
SECRETS = (WX_TOKEN, WX_UID, SC_KEY)


class RedisServer:
    """A redis-server of the test's own, on a free loopback port, in a temporary folder."""

    def __init__(self, folder: Path, *args: str) -> None:
        self.folder = folder
        self.args = args
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert REDIS_SERVER is not None
        self.proc = subprocess.Popen([REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
                                      str(self.folder), "--save", "", "--appendonly", "no", *self.args],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while True:
            try:
                if self.client().ping():
                    return
            except Exception:
                assert time.monotonic() < deadline, "redis-server did not start"
                time.sleep(0.05)

    def kill(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None

    def client(self) -> Any:
        import redis

        return redis.Redis.from_url(self.url, socket_timeout=2)

    def everything(self) -> str:
        """Every key and every value in the database, as text."""
        r, seen = self.client(), []
        for key in r.scan_iter("*"):
            seen.append(key.decode())
            kind = r.type(key).decode()
            values = {"string": lambda k: [r.get(k)], "zset": lambda k: r.zrange(k, 0, -1),
                      "set": lambda k: list(r.smembers(k))}[kind](key)
            seen += [v.decode() for v in values]
        return "\n".join(seen)


@pytest.fixture
def box(inbox: Any) -> Any:
    """The inbox, emptied for this test."""
    inbox.clear()
    return inbox


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    folder = tmp_path / "redis"
    folder.mkdir()
    server = RedisServer(folder)
    server.start()
    yield server
    server.kill()


def run(tmp_path: Path, name: str, code: str, env: dict[str, str]) -> subprocess.Popen[str]:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    home = tmp_path / f"home-{name}"
    return subprocess.Popen([sys.executable, str(path)], env={**os.environ, **env, "WXNOTIFY_HOME": str(home)},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def most_in_window(times: list[float], seconds: float) -> int:
    times = sorted(times)
    return max((sum(1 for t in times[i:] if t < start + seconds) for i, start in enumerate(times)), default=0)


def assert_holds_no_secret(server: RedisServer) -> None:
    stored = server.everything()
    assert stored, "nothing was counted in Redis"
    for secret in SECRETS:
        runs = {secret[i:i + 8] for i in range(len(secret) - 7)}
        found = [piece for piece in runs if piece in stored]
        assert not found, "a piece of a token is stored in Redis"


SHARING = """
    import sys
    from wxnotify_magic.api import send
    who = sys.argv[0].rsplit("/", 1)[-1][:-3]
    for i in range(6):  # six recipients behind one app token: its rate is shared with the other host
        send(f"{who} rate {i}", to="wxpusher://%s/UID_test_%s_" % ("{token}", who) + str(i), wait=0)
    for i in range(4):  # one SendKey, 5 a day (one kept for failures): its day is shared with the other host
        print(send(f"{who} day {i}", to="{sc}", wait=3).status, flush=True)
"""


def test_two_hosts_share_one_tokens_rate_and_one_keys_day(redis_server, box, tmp_path):  # type: ignore[no-untyped-def]
    env = {"WXNOTIFY_API_BASE": box.url, "WXNOTIFY_LEDGER": redis_server.url}
    code = SHARING.replace("{token}", WX_TOKEN).replace("{sc}", SC_URL)
    procs = [run(tmp_path, who, code, env) for who in ("hosta", "hostb")]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    day = [m for m in box.messages if m["service"] == "serverchan"]
    assert len(day) == 4, f"{len(day)} calls against one SendKey's day of 5 (4 for messages that are not failures)"
    statuses = [line for out, _ in outs for line in out.split()]
    assert statuses.count("delivered") <= 4 and statuses.count("pending") >= 4
    rate = [m["time"] for m in box.wait_for(4 + 12, timeout=30) if m["service"] == "wxpusher"]
    assert len(rate) == 12 and most_in_window(rate, 1.0) <= 2 and most_in_window(rate, 10.0) <= 20
    assert_holds_no_secret(redis_server)
    assert not any("Traceback" in err for _, err in outs)


JOB = """
    from wxnotify_magic.api import notify
    try:
        with notify("train", wait=15):
            raise RuntimeError("NCCL timeout")
    except RuntimeError:
        pass
"""


def test_a_multi_host_jobs_failure_is_reported_once(redis_server, box, tmp_path):  # type: ignore[no-untyped-def]
    env = {"WXNOTIFY_API_BASE": box.url, "WXNOTIFY_LEDGER": redis_server.url, "WXNOTIFY_TO": SC_URL,
           "SLURM_JOB_ID": "4242", "SLURM_NTASKS": "4", "SLURM_NTASKS_PER_NODE": "2"}
    procs = [run(tmp_path, f"rank{r}", JOB, {**env, "SLURM_PROCID": str(r)}) for r in range(4)]  # 4 homes: 4 hosts
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), [err for _, err in outs]
    time.sleep(0.5)
    (message,) = box.messages
    assert "4 of 4 ranks failed (ranks 0, 1, 2, 3)" in message["body"]["desp"] + message["title"]
    quiet = [err for _, err in outs if "counted in the message another rank of the job sends" in err]
    assert len(quiet) == 3
    assert_holds_no_secret(redis_server)


STEADY = """
    import time
    from wxnotify_magic.api import send
    for i in range(12):
        to = "wxpusher://%s/UID_test_steady_" % "{token}" + str(i)
        print(send(f"step {i}", title=f"step {i}", to=to, wait=15).status, flush=True)
        time.sleep(0.3)
"""


def test_redis_killed_mid_run_loses_nothing(redis_server, box, tmp_path):  # type: ignore[no-untyped-def]
    env = {"WXNOTIFY_API_BASE": box.url, "WXNOTIFY_LEDGER": redis_server.url}
    proc = run(tmp_path, "steady", STEADY.replace("{token}", WX_TOKEN), env)
    box.wait_for(3, timeout=30)
    redis_server.kill()  # dies mid-run
    before = len(box.messages)
    box.wait_for(6, timeout=30)
    redis_server.start()  # and comes back (empty: it kept nothing on disk)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    assert out.split() == ["delivered"] * 12
    assert sorted(int(m["title"].split()[-1]) for m in box.messages) == list(range(12))  # nothing lost
    assert "Traceback" not in err
    down = [line for line in err.splitlines() if "cannot be reached" in line]
    back = [line for line in err.splitlines() if "is back;" in line]
    assert len(down) == 1 and len(back) == 1, err
    assert_holds_no_secret(redis_server)  # the calls made while it was down were copied in when it came back
    r = redis_server.client()
    token_calls = max(r.zcard(k) for k in r.scan_iter("*") if r.type(k) == b"zset")
    assert 0 < token_calls <= 12 - before  # each call once (the calls before the kill died with it)


def test_the_panel_sets_the_groups_ledger_and_status_shows_it(redis_server, ip, box, capsys):  # type: ignore[no-untyped-def]
    from wxnotify_magic.session import current
    from wxnotify_magic.settings_panel import build_panel

    panel = build_panel(current().settings)
    panel.ledger.value = "http://not-redis"
    assert "redis://" in panel.validate()["ledger"] and panel.save_button.disabled
    panel.ledger.value = redis_server.url
    panel.save_button.click()
    assert current().settings.ledger == redis_server.url
    ip.run_cell("%wxsend counted in Redis").raise_error()
    capsys.readouterr()
    ip.run_cell("%wxnotify").raise_error()
    assert f"limits counted in: {redis_server.url}" in capsys.readouterr().out.replace("\u2060", "")  # unlinked
    assert_holds_no_secret(redis_server)
    panel.widget.close()


def test_an_unreachable_redis_costs_one_line_and_no_message(box, tmp_path):  # type: ignore[no-untyped-def]
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"WXNOTIFY_API_BASE": box.url, "WXNOTIFY_LEDGER": f"redis://:sekrit-password@127.0.0.1:{port}/0"}
    proc = run(tmp_path, "alone", STEADY.replace("{token}", WX_TOKEN).replace("range(12)", "range(4)"), env)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0 and out.split() == ["delivered"] * 4
    assert len(box.messages) == 4
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "cannot be reached" in lines[0] and "Traceback" not in err
    assert "sekrit" not in err and f"redis://127.0.0.1:{port}/0" in lines[0]


def test_six_lanes_on_one_uid_take_its_quota_atomically_in_redis(redis_server, home, box, monkeypatch):  # type: ignore[no-untyped-def]
    from test_ledger import decided

    from wxnotify_magic import delivery
    from wxnotify_magic.message import Notification
    from wxnotify_magic.providers import parse_destination

    monkeypatch.setenv("WXNOTIFY_LEDGER", redis_server.url)
    delivery.reset_sender()
    sender = delivery.get_sender()
    overruns = []
    for round_ in range(8):
        uid = f"UID_test_redis_race_{round_:04d}"
        dests = [parse_destination(f"wxpusher://AT_test_race_token_{i}_0123456789/{uid}") for i in range(6)]
        box.clear()
        ticket = sender.submit(Notification(title=f"round {round_}", text="done"), dests, quotas={"wxpusher": 2})
        deadline = time.monotonic() + 30
        while not decided(ticket, time.time()) and time.monotonic() < deadline:
            time.sleep(0.05)
        arrived = [m for m in box.messages if uid in m["body"].get("uids", [])]
        if len(arrived) != 2:
            overruns.append(len(arrived))
    assert overruns == []
    assert sender.outbox.ledger.where() == redis_server.url


def test_a_send_asks_redis_once_and_its_answer_time_lands(redis_server, home, box, monkeypatch):  # type: ignore[no-untyped-def]
    """Where no other writer came between, a send asks Redis once: its take's script, which checks what this
    process last knew of the keys. No read before deciding, none for the quota note; the time of the answer
    is told without waiting for a reply (``CLIENT REPLY SKIP``), and lands: every call counts from its answer."""
    from conftest import wait_until

    from wxnotify_magic import delivery
    from wxnotify_magic.message import Notification
    from wxnotify_magic.providers import parse_destination
    from wxnotify_magic.redis_ledger import RedisLedger

    monkeypatch.setenv("WXNOTIFY_LEDGER", redis_server.url)
    delivery.reset_sender()
    sender, r = delivery.get_sender(), redis_server.client()

    def send(i: int) -> Any:
        dest = parse_destination(f"wxpusher://AT_test_trip_{i:04d}_0123456789/UID_test_trip_{i:04d}")
        ticket = sender.submit(Notification(title=f"trip {i}", text="done"), [dest])
        wait_until(lambda: all(x.status == "delivered" for x in ticket.current()), what="delivered")
        return dest

    send(0)  # the first send also asks once whether Redis skips replies (CLIENT REPLY SKIP, then two ECHOs)
    wait_until(lambda: sum(v["calls"] for k, v in r.info("commandstats").items() if k.startswith("cmdstat_client"))
               >= 2,
               what="the first answer time told")
    before = r.info("commandstats")
    dests = [send(i) for i in range(1, 11)]

    def counted() -> dict[str, int]:
        now = r.info("commandstats")
        return {"cmdstat_client|reply" if k == "cmdstat_client" else k:  # Redis 6 counts no subcommands
                v["calls"] - before.get(k, {}).get("calls", 0) for k, v in now.items()}

    wait_until(lambda: counted().get("cmdstat_eval", 0) >= 10, timeout=10, what="ten answer times told")
    got = counted()  # a take's script each, an answer time each, and nothing read (not even by a script)
    assert {k: got.get(f"cmdstat_{k}", 0) for k in ("evalsha", "client|reply", "eval", "exec", "zrangebyscore")} == {
        "evalsha": 10, "client|reply": 10, "eval": 10, "exec": 0, "zrangebyscore": 0}
    names, arrived = RedisLedger(redis_server.url), {m["body"]["appToken"]: m["time"] for m in box.messages}
    for dest in dests:
        for key in dest.limit_keys():
            ((_, score),) = r.zrange(names.name(key.key), 0, -1, withscores=True)
            assert score >= arrived[dest.values["token"]]  # counted from the answer, not from when it left
    assert_holds_no_secret(redis_server)


def test_what_a_process_knows_never_hides_another_hosts_call(redis_server):  # type: ignore[no-untyped-def]
    """Two hosts' ledgers on one key allowing two calls: each decides on what it last knew, and Redis's script
    says whether that is still so. Host A's answer time lands after host B counted a call, so A must not take
    the room on the strength of its own last write (it did when a change set the version A expected)."""
    from wxnotify_magic.redis_ledger import RedisLedger

    a, b = RedisLedger(redis_server.url), RedisLedger(redis_server.url)
    since, now = {"k": 0.0}, time.time()

    def room(calls: dict[str, list[tuple[float, str]]]) -> bool:
        return len(calls["k"]) < 2

    first = a.take(since, ["k"], room, "a1", now)
    assert first is not None
    assert b.take(since, ["k"], room, "b1", now + 0.1) is not None  # B learns A's call in the same trip
    a.change(first, now + 0.2)  # A's answer came: its call counts from then
    assert a.take(since, ["k"], room, "a2", now + 0.3) is None, "A took the room B's call filled"
    assert sorted(d for _, d in a.calls_since(since)["k"]) == ["a1", "b1"]
    assert b.take(since, ["k"], room, "b2", now + 0.4) is None


def test_a_redis_that_will_not_skip_replies_gets_answer_times_as_commands(box, home, tmp_path, monkeypatch):  # type: ignore[no-untyped-def]
    """Where ``CLIENT`` is renamed away (some managed Redis services, proxies), a process asks once, finds out,
    and runs each answer time as an ordinary script: every send delivered, every call counted from its answer,
    and the connection never reads another command's reply."""
    from conftest import wait_until

    from wxnotify_magic import delivery
    from wxnotify_magic.message import Notification
    from wxnotify_magic.providers import parse_destination
    from wxnotify_magic.redis_ledger import RedisLedger

    (tmp_path / "redis").mkdir()
    server = RedisServer(tmp_path / "redis", "--rename-command", "CLIENT", "")
    server.start()
    try:
        monkeypatch.setenv("WXNOTIFY_LEDGER", server.url)
        delivery.reset_sender()
        sender, r, names = delivery.get_sender(), server.client(), RedisLedger(server.url)
        dests = [parse_destination(f"wxpusher://AT_test_noskip_{i:04d}_0123456789/UID_test_noskip_{i:04d}")
                 for i in range(5)]
        for i, dest in enumerate(dests):
            ticket = sender.submit(Notification(title=f"noskip {i}", text="done"), [dest])
            wait_until(lambda t=ticket: all(x.status == "delivered" for x in t.current()), what="delivered")
        assert r.info("commandstats")["cmdstat_evalsha"]["calls"] == 10  # a take and an answer time a send
        arrived = {m["body"]["appToken"]: m["time"] for m in box.messages}
        for dest in dests:
            for key in dest.limit_keys():
                ((_, score),) = r.zrange(names.name(key.key), 0, -1, withscores=True)
                assert score >= arrived[dest.values["token"]]
        assert sender.outbox.ledger.where() == server.url  # never took Redis for unreachable
    finally:
        server.kill()
