"""`make bench`: overhead, throughput, memory, import cost, delivery latency and pacing, measured in one run.

Figures are compared as ratios within this run (machines are noisy); nothing here is a pass/fail test.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

from wxnotify_magic.inbox import Inbox

sys.path.insert(0, str(Path(__file__).parent))
import ledger

HOME = tempfile.mkdtemp(prefix="wxnotify-bench-")
ENV = {**os.environ, "WXNOTIFY_HOME": HOME, "IPYTHONDIR": os.path.join(HOME, "ipython"),
       "WXNOTIFY_TO": "wxpusher://AT_test_bench_token/UID_test_bench"}


def child(code: str, extra_env: dict[str, str] | None = None) -> dict:
    """Run ``code`` in a fresh interpreter; it prints one JSON line last."""
    out = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], env={**ENV, **(extra_env or {})},
                         capture_output=True, text=True, timeout=900)
    if out.returncode:
        raise SystemExit(out.stderr)
    return json.loads(out.stdout.strip().splitlines()[-1])


SHELL = """
import io, json, os, sys, time, statistics, contextlib
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
ip.run_line_magic("load_ext", "wxnotify_magic")
def timed(cell, n):
    times = []
    with contextlib.redirect_stdout(io.StringIO()) as sink:
        for _ in range(n):
            t = time.perf_counter(); ip.run_cell(cell); times.append(time.perf_counter() - t)
            sink.seek(0); sink.truncate()
    return statistics.median(times)
"""


def overhead() -> dict:
    """Median time of a bare cell, a ``%%time`` cell and a ``%%wxnotify`` cell, in turns (so that drift in the
    machine or the shell weighs on all three alike), after warming up all three (the first use builds the hooks
    that every later cell passes through)."""
    return child(SHELL + """
n = 2000
cells = {"bare": "x = 1", "time": "%%time\\nx = 1", "wxnotify": "%%wxnotify --after 1h\\nx = 1"}
times = {name: [] for name in cells}
with contextlib.redirect_stdout(io.StringIO()) as sink:
    for round in range(200 + n):
        for name, cell in cells.items():
            t = time.perf_counter(); ip.run_cell(cell); took = time.perf_counter() - t
            sink.seek(0); sink.truncate()
            if round >= 200:
                times[name].append(took)
print(json.dumps({**{name: statistics.median(t) for name, t in times.items()}, "n": n}))
""")


def terminal_auto(inbox: Inbox, n: int = 30) -> dict:
    """``n`` quick cells in a terminal shell with auto mode on (``--after 0``: every cell notifies), against the
    same cells without wxnotify; per cell, the notifications going to the inbox."""
    inbox.clear()
    return child(SHELL.replace('ip.run_line_magic("load_ext", "wxnotify_magic")', "") + f"""
def run(n):
    with contextlib.redirect_stdout(io.StringIO()):
        t = time.perf_counter()
        for i in range(n):
            ip.run_cell("x = 1")
        return (time.perf_counter() - t) / n
for _ in range(3): run({n})
bare = min(run({n}) for _ in range(3))
ip.run_line_magic("load_ext", "wxnotify_magic")
with contextlib.redirect_stdout(io.StringIO()):
    ip.run_cell("%wxnotify auto on --after 0")
auto = min(run({n}) for _ in range(3))
with contextlib.redirect_stdout(io.StringIO()):
    ip.run_cell("%wxnotify wait 120")
print(json.dumps({{"bare": bare, "auto": auto, "n": {n}}}))
""", {"WXNOTIFY_API_BASE": inbox.url})


def million_lines(lines: int) -> dict:
    """Plain and %%wxnotify cells printing ``lines`` lines, interleaved 3 times in one process; best of each."""
    return child(SHELL + f"""
import resource
sys.stdout = open(os.devnull, "w")
plain = "for i in range({lines}): print('line', i)"
magic = "%%wxnotify --after 1h\\n" + plain
ip.run_cell(magic.replace("{lines}", "1000"))
best = {{"plain": [], "magic": []}}
for _ in range(3):
    for name, cell in (("plain", plain), ("magic", magic)):
        t = time.perf_counter(); ip.run_cell(cell); best[name].append(time.perf_counter() - t)
sys.stdout = sys.__stdout__
print(json.dumps({{k: min(v) for k, v in best.items()}}))
""")


def peak_memory(lines: int, magic: bool) -> int:
    """Peak RSS growth (KB) of one cell printing ``lines`` lines, in a fresh process."""
    head = "%%wxnotify --after 1h\n" if magic else ""
    return child(SHELL + f"""
import resource
sys.stdout = open(os.devnull, "w")
ip.run_cell({head!r} + "for i in range(1000): print('warm', i)")
rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
ip.run_cell({head!r} + "for i in range({lines}): print('line', i)")
sys.stdout = sys.__stdout__
print(json.dumps({{"kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss0}}))
""")["kb"]


def load_ext_cost() -> dict:
    """``%load_ext`` in fresh processes, the package byte-compiled first as ``pip install`` does."""
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parent.parent / "wxnotify_magic"), quiet=1)
    runs = [child("""
import json, sys, time
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
t = time.perf_counter(); ip.run_line_magic("load_ext", "wxnotify_magic"); took = time.perf_counter() - t
heavy = sorted(m for m in ("requests", "ipywidgets", "apprise") if m in sys.modules)
print(json.dumps({"seconds": took, "heavy": heavy}))
""") for _ in range(7)]
    return {"median": statistics.median(r["seconds"] for r in runs), "heavy": runs[0]["heavy"]}


def slow_service(inbox: Inbox) -> dict:
    inbox.clear()
    inbox.add_fault("delay", seconds=5.0)
    return child(SHELL + """
ip.run_cell("%config WxNotify.wait = 1.0")
t = time.perf_counter(); ip.run_cell("%%wxnotify\\nx = 1"); took = time.perf_counter() - t
print(json.dumps({"cell_seconds": took, "wait": 1.0}))
""", {"WXNOTIFY_API_BASE": inbox.url})


def latency(inbox: Inbox, rounds: int = 200, base: str = "", extra_env: dict[str, str] | None = None) -> dict:
    """Cell end -> the inbox received it, one notification at a time, each spaced beyond pacing (its own token),
    interleaved with the official ``wxpusher`` SDK sending the same way (when it is installed). ``base``: the
    inbox's address to send to (default its plain-HTTP one)."""
    inbox.clear()
    base = base or inbox.url
    return child(f"""
import json, time
import requests
from wxnotify_magic import delivery
from wxnotify_magic.message import Notification
from wxnotify_magic.providers import parse_destination
try:
    from wxpusher import wxpusher as sdkmod
    sdkmod.BASEURL = {base!r} + "/api"
except ImportError:
    sdkmod = None
sender = delivery.get_sender()
session = requests.Session()
def received(marker):  # when the inbox received the message holding marker (a late one from before is no match)
    while True:
        for m in session.get({base!r} + "/_inbox/messages").json():
            if marker in m["content"]: return m["time"]
        time.sleep(0.0005)
ours, sdk = [], []
for i in range({rounds}):
    dest = parse_destination(f"wxpusher://AT_test_bench_token_{{i}}/UID_test_{{i}}")  # own token, own pacing
    t = time.time(); sender.submit(Notification(title=f"n{{i}}", text=f"ours-{{i}}-end"), [dest]).wait(5)
    ours.append(received(f"ours-{{i}}-end") - t)
    if sdkmod is not None:
        t = time.time()
        sdkmod.WxPusher.send_message(f"sdk-{{i}}-end", uids=["UID_test_sdk"], token="AT_test_bench_token")
        sdk.append(received(f"sdk-{{i}}-end") - t)
q = lambda xs, p: sorted(xs)[int(p * (len(xs) - 1))] * 1000 if xs else None
print(json.dumps({{"ours_median_ms": q(ours, .5), "ours_p95_ms": q(ours, .95),
                   "sdk_median_ms": q(sdk, .5), "sdk_p95_ms": q(sdk, .95)}}))
""", {"WXNOTIFY_API_BASE": base, **(extra_env or {})})


def latency_over_tls(inbox: Inbox, rounds: int = 100) -> dict | None:
    """``latency`` with the inbox behind TLS (a certificate made for 127.0.0.1 here), as the real services are
    reached: the SDK opens a new connection, with its TLS handshake, for every message; wxnotify keeps its own.
    None when ``openssl`` is not there to make the certificate."""
    import shutil
    import ssl

    if shutil.which("openssl") is None:
        return None
    folder = Path(tempfile.mkdtemp(dir=HOME))
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                    "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out",
                    str(cert)], check=True, capture_output=True)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with Inbox() as tls_inbox:
        server = tls_inbox._server  # a benchmark puts TLS in front of the emulator's socket
        assert server is not None
        server.socket = context.wrap_socket(server.socket, server_side=True)
        base = tls_inbox.url.replace("http://", "https://")
        return latency(tls_inbox, rounds, base, {"REQUESTS_CA_BUNDLE": str(cert), "SSL_CERT_FILE": str(cert)})


def kernel_exit(inbox: Inbox) -> dict:
    """A notebook run headless whose last message meets two HTTP 500s; its kernel is sent SIGTERM 2.5 s after the
    shutdown request, as nbclient, papermill and nbconvert do. Seconds from the run's end to the message's arrival
    (the watchdog delivers it once the kernel has ended)."""
    from jupyter_client import KernelManager
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook
    from traitlets import Float

    class Impatient(KernelManager):
        shutdown_wait_time = Float(2.5)

    os.environ.update({**ENV, "WXNOTIFY_API_BASE": inbox.url, "WXNOTIFY_HOME": tempfile.mkdtemp(dir=HOME)})
    inbox.clear()
    inbox.add_fault("status", status=500, count=2)
    nb = new_notebook(cells=[new_code_cell("%load_ext wxnotify_magic"), new_code_cell("%wxsend the last word")])
    NotebookClient(nb, timeout=120, kernel_name="python3", kernel_manager_class=Impatient).execute()
    ended = time.time()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        got = [m for m in inbox.messages if m["accepted"]]
        if got:
            return {"seconds": got[0]["time"] - ended, "copies": len(got)}
        time.sleep(0.05)
    return {"seconds": None, "copies": 0}


class Answering:
    """A transport that answers every request at once with the service's success body (engine cost only)."""

    def send(self, request, secrets):  # type: ignore[no-untyped-def]
        from wxnotify_magic.providers.base import HttpResponse

        return HttpResponse(200, '{"code": 1000, "msg": "ok", "data": []}')


def drain(items: int, destinations: int, transport=None, name: str = "drain") -> dict:  # type: ignore[no-untyped-def]
    """Queue ``items`` notifications for ``destinations`` WxPusher UIDs behind one app token, then drain them on a
    simulated clock; CPU seconds to schedule and to drain, requests made, and the most calls in any window."""
    from wxnotify_magic.delivery import Sender
    from wxnotify_magic.message import Notification
    from wxnotify_magic.outbox import Outbox
    from wxnotify_magic.providers import parse_destination

    clock = [time.time()]
    sender = Sender(Outbox(Path(tempfile.mkdtemp(dir=HOME)) / f"{name}.sqlite3"), transport=transport or Answering(),
                    clock=lambda: clock[0])
    sender.start = lambda: True  # type: ignore[method-assign]  # driven by hand on a simulated clock
    dests = [parse_destination(f"wxpusher://AT_test_bench_token/UID_test_{i}") for i in range(destinations)]
    t0 = time.process_time()
    for i in range(items):
        sender.submit(Notification(status="success", title=f"n{i}", text="x"), [dests[i % destinations]])
    scheduled = time.process_time() - t0
    t0 = time.process_time()
    while True:
        sender.run_once()
        due = sender.outbox.next_due()
        if due is None:
            break
        clock[0] = max(clock[0], due)
    drained = time.process_time() - t0
    key = next(k.key for k in dests[0].limit_keys() if not k.limit.daily)
    calls = [t for t, _ in sender.outbox.calls_since({key: 0})[key]]
    return {"schedule_cpu": scheduled, "drain_cpu": drained, "requests": len(calls),
            "settled": sender.outbox.count("delivered") + sender.outbox.count("merged"),
            "max_per_1s": most_in(calls, 1.0), "max_per_10s": most_in(calls, 10.0),
            "simulated_minutes": (calls[-1] - calls[0]) / 60 if calls else 0.0}


def most_in(times: list[float], seconds: float) -> int:
    times = sorted(times)
    j, best = 0, 0
    for i, t in enumerate(times):
        while times[j] <= t - seconds:
            j += 1
        best = max(best, i - j + 1)
    return best


def pacing(inbox: Inbox) -> dict:
    """1,000 notifications for 1,000 UIDs behind one token, over real HTTP to the inbox, on a simulated clock."""
    inbox.clear()
    os.environ["WXNOTIFY_API_BASE"] = inbox.url
    from wxnotify_magic.transport import Transport

    result = drain(1000, 1000, Transport(), name="pacing")
    return {**result, "received": len(inbox.messages)}


def run_all_burst(inbox: Inbox, cells: int = 200, rounds: int = 3) -> dict:
    """Run All of ``cells`` tiny cells in a real kernel (nbclient), with and without ``%%wxnotify --after 0``.

    Only the cells are timed (the kernel's start, ``%load_ext`` and the final ``%wxnotify wait`` are not); best
    of ``rounds`` fresh kernels each, interleaved. After each magic run the inbox must hold every cell's outcome.
    """
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook

    os.environ.update({**ENV, "WXNOTIFY_API_BASE": inbox.url})
    best: dict[str, float] = {}
    received, missing = 0, cells
    for _ in range(rounds):
        for name, source in (("plain", "pass"), ("magic", "%%wxnotify --after 0\npass")):
            inbox.clear()
            nb = new_notebook(cells=[new_code_cell("%load_ext wxnotify_magic"),
                                     *(new_code_cell(source) for _ in range(cells)),
                                     new_code_cell("%wxnotify wait 300")])
            client = NotebookClient(nb, timeout=600, kernel_name="python3")
            with client.setup_kernel():
                client.execute_cell(nb.cells[0], 0)
                started = time.perf_counter()
                for index in range(1, cells + 1):
                    client.execute_cell(nb.cells[index], index)
                took = time.perf_counter() - started
                client.execute_cell(nb.cells[-1], cells + 1)
            best[name] = min(best.get(name, took), took)
            if name == "magic":
                text = "\n".join(m["title"] + "\n" + m["content"] for m in inbox.messages)
                outcomes = {int(n) for n in re.findall(r"✅ (?:\[|Cell \[)(\d+)\]", text)}
                received = len(inbox.messages)
                missing = len({c.execution_count for c in nb.cells[1:-1]} - outcomes)
    return {"plain": best["plain"], "magic": best["magic"], "cells": cells, "received": received,
            "missing": missing}


def long_session(inbox: Inbox, rounds: int = 9, per_round: int = 400) -> dict:
    """Resident memory, descriptors and threads of one process over thousands of delivered messages, to a fixed
    set of 200 destinations (each stays within its service's limits, so every message goes out at once)."""
    inbox.clear()
    return child(f"""
import gc, json, os, threading
import wxnotify_magic
def rss():
    return int(open("/proc/self/statm").read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
def counts():
    return round(rss(), 1), len(os.listdir("/proc/self/fd")), threading.active_count()
keys = [f"wecombot://00000000-test-4000-8000-{{i:012d}}" for i in range(200)]
sent = 0
for r in range({rounds}):
    for _ in range({per_round}):
        receipt = wxnotify_magic.send(f"message {{sent}} " + "x" * 200, to=keys[sent % len(keys)], wait=30)
        assert receipt.ok, (sent, receipt.status, receipt.reason)
        sent += 1
    gc.collect()
    if r == 0:
        first = counts()
print(json.dumps({{"sent": sent, "first_after": {per_round}, "first": first, "last": counts()}}))
""", {"WXNOTIFY_API_BASE": inbox.url})


def main() -> None:
    with Inbox() as inbox:
        o = overhead()
        ratio = (o["wxnotify"] - o["bare"]) / (o["time"] - o["bare"])
        print(f"%%wxnotify overhead, median of {o['n']} trivial cells: bare {o['bare'] * 1e6:.0f} µs, "
              f"%%time {o['time'] * 1e6:.0f} µs, %%wxnotify --after 1h {o['wxnotify'] * 1e6:.0f} µs; "
              f"overhead ratio (%%wxnotify - bare) / (%%time - bare) = {ratio:.2f} (goal <= 0.5)")
        m = million_lines(1_000_000)
        print(f"1,000,000 printed lines, best of 3 interleaved: plain {m['plain']:.2f} s, with %%wxnotify "
              f"{m['magic']:.2f} s (ratio {m['magic'] / m['plain']:.2f})")
        mem = {(n, magic): peak_memory(n, magic) for n in (100_000, 1_000_000) for magic in (False, True)}
        print("peak RSS growth of the cell (KB), plain / with %%wxnotify: "
              + ", ".join(f"{n:,} lines {mem[n, False]} / {mem[n, True]}" for n in (100_000, 1_000_000))
              + "  (IPython 9 itself keeps cell output in its history; the magic's tail is bounded)")
        load = load_ext_cost()
        print(f"%load_ext wxnotify_magic: {load['median'] * 1000:.1f} ms median of 7 fresh processes "
              f"(goal <= 10 ms); heavy modules imported: {load['heavy'] or 'none'}")
        t = terminal_auto(inbox)
        print(f"terminal, auto mode on (--after 0, every cell notifies), {t['n']} quick cells, best of 3: "
              f"{t['auto'] * 1000:.2f} ms per cell against {t['bare'] * 1000:.2f} ms without wxnotify "
              f"(+{(t['auto'] - t['bare']) * 1000:.2f} ms per cell; the cells never wait on delivery)")
        slow = slow_service(inbox)
        print(f"service answering after 5 s, terminal cell: it returned in {slow['cell_seconds']:.3f} s "
              f"(it never waits on delivery)")
        lat = latency(inbox)
        line = (f"loopback latency, cell end -> inbox received, 200 sends spaced beyond pacing: median "
                f"{lat['ours_median_ms']:.1f} ms, p95 {lat['ours_p95_ms']:.1f} ms")
        if lat["sdk_median_ms"] is None:
            print(line + "; official wxpusher SDK not installed (pip install wxpusher): no ratio")
        else:
            print(line + f"; official wxpusher SDK, interleaved: median {lat['sdk_median_ms']:.1f} ms, p95 "
                  f"{lat['sdk_p95_ms']:.1f} ms (ratio {lat['ours_median_ms'] / lat['sdk_median_ms']:.2f})")
        tls = latency_over_tls(inbox)
        if tls is not None and tls["sdk_median_ms"] is not None:
            print(f"the same over HTTPS (as the services are reached), 100 sends: median {tls['ours_median_ms']:.1f} "
                  f"ms against {tls['sdk_median_ms']:.1f} ms for the SDK, which makes a new connection for each "
                  f"(ratio {tls['ours_median_ms'] / tls['sdk_median_ms']:.2f})")
        k = kernel_exit(inbox)
        print("headless run whose last message met two HTTP 500s, kernel sent SIGTERM 2.5 s after shutdown: "
              + (f"delivered {k['seconds']:.1f} s after the run ended ({k['copies']} copy)" if k["seconds"] is not None
                 else "NOT delivered within 120 s"))
        r = run_all_burst(inbox)
        print(f"Run All of {r['cells']} `%%wxnotify --after 0` cells (`pass`) in a real kernel, best of 3: "
              f"{r['magic']:.2f} s against {r['plain']:.2f} s without the magic (ratio {r['magic'] / r['plain']:.2f}); "
              f"the inbox received {r['received']} messages, holding "
              + ("every cell's outcome" if not r["missing"] else f"all but {r['missing']} cells' outcomes"))
        p = pacing(inbox)
        print(f"1,000 notifications for 1,000 UIDs behind one WxPusher token (real HTTP, simulated clock): "
              f"{p['settled']} delivered, {p['received']} received, at most {p['max_per_1s']} in any 1 s and "
              f"{p['max_per_10s']} in any 10 s, over {p['simulated_minutes']:.0f} simulated minutes")
        d = drain(10_000, 10_000)
        print(f"10,000 queued items for 10,000 UIDs behind one token (engine only, simulated clock): schedule "
              f"{d['schedule_cpu']:.2f} s CPU, drain {d['drain_cpu']:.2f} s CPU, {d['requests']} requests, at most "
              f"{d['max_per_1s']} in any 1 s")
        s = long_session(inbox)
        print(f"one process, {s['sent']:,} messages delivered to 200 destinations: resident memory "
              f"{s['first'][0]} MB after the first {s['first_after']:,}, {s['last'][0]} MB after all; descriptors "
              f"{s['first'][1]} -> {s['last'][1]}, threads {s['first'][2]} -> {s['last'][2]}")
        print(ledger.report(HOME))
        b = drain(10_000, 10)
        print(f"10,000 queued items for 10 destinations behind one token (bursts merge): schedule "
              f"{b['schedule_cpu']:.2f} s CPU, drain {b['drain_cpu']:.2f} s CPU, {b['requests']} requests, "
              f"{b['settled']} settled")


if __name__ == "__main__":
    main()
