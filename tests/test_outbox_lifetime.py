"""The outbox keeps its promises while a process runs and across runs: a file damaged under a running process is
moved aside with its pending items carried over and its ids never given again, and an outbox that cannot be
written does not make every later run deliver the same pending message again."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import WECOM_KEY
from test_outbox_faults import read_only_folder

from wxnotify_magic.storage import SentMarks

WECOM = f"wecombot://{WECOM_KEY}"


def run_send(text: str) -> subprocess.CompletedProcess[str]:
    """A separate process (a later run) that sends one message and waits for its receipt."""
    code = textwrap.dedent(f"""
        from wxnotify_magic import send
        print(send({text!r}, to={WECOM!r}, wait=15).status)
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=90, env=os.environ)


# -- nothing can be written: a message is delivered once, not once a run ---------------------------------------


def test_a_pending_message_in_an_unwritable_outbox_is_delivered_once_over_many_runs(home, inbox):
    with read_only_folder(home, with_pending=1):
        runs = [run_send(f"run {n}") for n in range(3)]
        SentMarks(home / "outbox.sqlite3").remove()  # this outbox is gone with the test: so are its marks
        inbox.wait_for(4, timeout=30)
        with contextlib.suppress(TimeoutError):  # let any late duplicate arrive
            inbox.wait_for(5, timeout=2)
        contents = [m["content"] for m in inbox.messages]
    for proc in runs:
        assert proc.returncode == 0 and proc.stdout.split() == ["delivered"], proc.stderr
        assert "Traceback" not in proc.stderr
    assert [c.startswith("### ✅ old 0 finished") for c in contents].count(True) == 1, contents
    assert [n for n in range(3) for c in contents if f"run {n}" in c] == [0, 1, 2]


def writable_again(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
    else:
        folder.chmod(0o700)


def test_fates_kept_while_the_outbox_was_unwritable_are_written_into_it_later(home, inbox):
    db = home / "outbox.sqlite3"
    with read_only_folder(home, with_pending=2):
        first = run_send("while read-only")
        assert first.returncode == 0 and "Traceback" not in first.stderr, first.stderr
        inbox.wait_for(3, timeout=30)
        assert SentMarks(db).path.exists()
        writable_again(home)
        inbox.clear()
        later = run_send("writable again")
        assert later.returncode == 0 and later.stdout.split() == ["delivered"], later.stderr
        with contextlib.suppress(TimeoutError):
            inbox.wait_for(2, timeout=2)
        assert ["writable again" in m["content"] for m in inbox.messages] == [True]
        with contextlib.closing(sqlite3.connect(db)) as con:
            rows = con.execute("SELECT status, reason FROM outbox ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["delivered"] * 3  # the two old ones, and the last (the other lived in memory)
    assert rows[0][1] == rows[1][1] == "settled while the outbox could not be written"
    assert not SentMarks(db).path.exists()
