"""`make bench`: what the shared limits ledger (Redis on loopback) adds to each send, against this host's own."""

from __future__ import annotations

import shutil
import socket
import statistics
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

SENDS = 120  # per repetition, each send through the engine with either ledger, interleaved
REPEATS = 9  # the machine's load comes in bursts: many short repetitions, and their median
WARM = 20  # sends first, not timed: script loads, the first connection, SQLite's first pages


class Answering:
    """A transport that answers every request at once (the engine's and the ledger's cost only)."""

    def send(self, request: Any, secrets: Any) -> Any:
        from wxnotify_magic.providers.base import HttpResponse

        return HttpResponse(200, '{"code": 1000, "msg": "ok", "data": []}')


def _redis(folder: str) -> tuple[subprocess.Popen[bytes], str]:
    server = shutil.which("redis-server")
    assert server is not None
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([server, "--port", str(port), "--bind", "127.0.0.1", "--dir", folder, "--save", "",
                             "--appendonly", "no"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    import redis

    client = redis.Redis(port=port)
    for _ in range(200):
        try:
            client.ping()
            break
        except Exception:
            time.sleep(0.05)
    return proc, f"redis://127.0.0.1:{port}/0"


def _sender(url: str, home: str) -> Any:
    from wxnotify_magic.delivery import Sender
    from wxnotify_magic.outbox import Outbox
    from wxnotify_magic.redis_ledger import shared

    outbox = Outbox(Path(tempfile.mkdtemp(dir=home)) / "outbox.sqlite3")
    outbox.ledger = shared(outbox.ledger, url)
    sender = Sender(outbox, transport=Answering())
    sender.start = lambda: True  # type: ignore[method-assign]
    return sender


def _send(sender: Any, name: str, i: int) -> float:
    """Wall seconds of one send (an own token each: no pacing) through the engine."""
    from wxnotify_magic.message import Notification
    from wxnotify_magic.providers import parse_destination

    dest = parse_destination(f"wxpusher://AT_test_bench_{name}_{i:04d}/UID_test_bench_{i:04d}")
    sender.submit(Notification(status="success", title=f"n{i}", text="x"), [dest])
    t = time.perf_counter()
    sender.run_once()
    return time.perf_counter() - t


def ledger_latency(home: str) -> dict[str, Any] | None:
    """Per-send time with this host's ledger and with Redis on loopback, sends interleaved (the machine's load
    drifts): the median of each repetition, and the median over repetitions; None without redis-server."""
    if shutil.which("redis-server") is None:
        return None
    proc, url = _redis(tempfile.mkdtemp(dir=home))
    try:
        local, remote = _sender("", home), _sender(url, home)
        for i in range(WARM):
            _send(local, "warm", i), _send(remote, "warm", i)
        added, local_ms, redis_ms = [], [], []
        for rep in range(REPEATS):
            pairs = [(_send(local, f"local{rep}", i), _send(remote, f"redis{rep}", i)) for i in range(SENDS)]
            added.append(statistics.median(b - a for a, b in pairs) * 1000)
            local_ms.append(statistics.median(a for a, _ in pairs) * 1000)
            redis_ms.append(statistics.median(b for _, b in pairs) * 1000)
        trips = _round_trips(remote)
        ops = _ledger_ops(url)
    finally:
        proc.kill()
        proc.wait()
    return {"local_ms": statistics.median(local_ms), "redis_ms": statistics.median(redis_ms),
            "added_ms": statistics.median(added), "added_each": added, "ops_ms": ops * 1000, "trips": trips}


def _round_trips(sender: Any, sends: int = 50) -> float:
    """Times per send the engine waited for Redis: a read after a write on a connection (a pipeline's replies
    are one wait; a command sent without a reply is none)."""
    from redis.connection import Connection

    write, read, waits, waiting = Connection.send_packed_command, Connection.read_response, [0], set()

    def sent(self: Any, *args: Any, **kwargs: Any) -> Any:
        waiting.add(id(self))
        return write(self, *args, **kwargs)

    def answered(self: Any, *args: Any, **kwargs: Any) -> Any:
        if id(self) in waiting:
            waiting.discard(id(self))
            waits[0] += 1
        return read(self, *args, **kwargs)

    Connection.send_packed_command, Connection.read_response = sent, answered  # type: ignore[method-assign]
    try:
        for i in range(sends):
            _send(sender, "trips", i)
    finally:
        Connection.send_packed_command, Connection.read_response = write, read  # type: ignore[method-assign]
    return waits[0] / sends


def _ledger_ops(url: str) -> float:
    """Median seconds of the Redis work of one send alone, as the engine does it: take (checked against what
    this process knew), then tell the answer's time."""
    from wxnotify_magic.redis_ledger import RedisLedger

    redis, took = RedisLedger(url), []
    for i in range(WARM + SENDS):
        keys = [f"bench:rate:{i}", f"bench:day:{i}"]
        t = time.perf_counter()
        row = redis.take(dict.fromkeys(keys, 0.0), keys, lambda _: True, "digest", time.time())
        assert row is not None
        redis.change(row, time.time())
        took.append(time.perf_counter() - t)
    return statistics.median(took[WARM:])


def report(home: str) -> str:
    figures = ledger_latency(home)
    if figures is None:
        return "shared limits ledger: skipped (no redis-server)"
    each = ", ".join(f"{x:.2f}" for x in figures["added_each"])
    return (f"shared limits ledger, Redis on loopback: {figures['added_ms']:.2f} ms added per send (median of "
            f"{REPEATS} repetitions of {SENDS} sends through the engine, each with either ledger in turn: {each}; "
            f"{figures['redis_ms']:.2f} ms against {figures['local_ms']:.2f} ms with this host's own ledger); "
            f"{figures['trips']:.1f} Redis round trips per send; the Redis work of a send alone (take, answer "
            f"time): {figures['ops_ms']:.2f} ms")
