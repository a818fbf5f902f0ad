"""A long session: thousands of notifications in one process leave its descriptors and threads where they were."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from wxnotify_magic.inbox import Inbox

LONG_SESSION = """
import json, os, threading
import wxnotify_magic

def counts():
    return len(os.listdir("/proc/self/fd")), threading.active_count()

def one(i):  # each its own token: spaced beyond pacing, every one goes out on its own at once
    receipt = wxnotify_magic.send(f"n{i}", to=f"wxpusher://AT_test_long_{i:06d}_abcdef/UID_test_long_{i:06d}", wait=30)
    assert receipt.ok, (i, receipt.status, receipt.reason)

one(0)
first = counts()
peak = first
for i in range(1, N):
    one(i)
    if i % 250 == 0:
        now = counts()
        peak = (max(peak[0], now[0]), max(peak[1], now[1]))
print(json.dumps({"first": first, "last": counts(), "peak": peak}))
"""


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_ten_thousand_notifications_leave_descriptors_and_threads_flat(tmp_path: Path, inbox: Inbox) -> None:
    inbox.clear()
    n = 10_000
    env = {**os.environ, "WXNOTIFY_HOME": str(tmp_path / "home"), "WXNOTIFY_API_BASE": inbox.url}
    out = subprocess.run([sys.executable, "-c", f"N = {n}\n" + textwrap.dedent(LONG_SESSION)], env=env,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    figures = json.loads(out.stdout.strip().splitlines()[-1])
    first, peak = figures["first"], figures["peak"]
    # Workers follow how many sends overlap, never how many went out: a message may start while the previous
    # one's worker is still finishing up, so a loaded machine may keep a worker or two more than after the first
    # message (each: its thread, its outbox connection with the journal's two files, its HTTP connection).
    # Before long-lived workers, 1,000 messages left 2,010 descriptors.
    assert max(peak[0], figures["last"][0]) <= first[0] + 3 * 4, f"descriptors grew: {figures}"
    assert max(peak[1], figures["last"][1]) <= first[1] + 3, f"threads grew: {figures}"
    assert len(inbox.messages) == n
    inbox.clear()
