"""The outbox keeps its promises while a process runs and across runs: a file damaged under a running process is
moved aside with its pending items carried over and its ids never given again, and an outbox that cannot be
written does not make every later run deliver the same pending message again."""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import WECOM_KEY, wait_until
from test_outbox_faults import read_only_folder

from wxnotify_magic.storage import SentMarks

WECOM = f"wecombot://{WECOM_KEY}"


def run_send(text: str, **env: str) -> subprocess.CompletedProcess[str]:
    """A separate process (a later run) that sends one message and waits for its receipt."""
    code = textwrap.dedent(f"""
        from wxnotify_magic import send
        print(send({text!r}, to={WECOM!r}, wait=15).status)
    """)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=90,
                          env={**os.environ, **env})


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


def test_when_no_fate_can_be_kept_an_unwritable_outbox_keeps_its_pending_messages_for_later(home, inbox, tmp_path):
    """Not even the temporary folder can keep what was sent: the pending messages are not sent at all (every
    run would send them again), and one line says so; the run's own messages go out."""
    not_a_folder = tmp_path / "not-a-folder"
    not_a_folder.write_text("")
    with read_only_folder(home, with_pending=1):
        runs = [run_send(f"run {n}", TMPDIR=str(not_a_folder)) for n in range(2)]
        wait_until(lambda: len([m for m in inbox.messages if m["accepted"]]) >= 2, what="the runs' messages")
        with contextlib.suppress(TimeoutError):
            inbox.wait_for(3, timeout=2)
    for proc in runs:
        assert proc.returncode == 0 and proc.stdout.split() == ["delivered"], proc.stderr
        assert proc.stderr.count("1 pending message(s) stay in the outbox until it can be written again") == 1
        assert "Traceback" not in proc.stderr
    assert not any("old 0" in m["content"] for m in inbox.messages), inbox.messages


def writable_again(folder: Path) -> None:
    if os.geteuid() == 0:
        subprocess.run(["mount", "-o", "remount,rw", str(folder)], check=True)
    else:
        folder.chmod(0o700)


def test_fates_kept_while_the_outbox_was_unwritable_are_written_into_it_later(home, inbox):
    db = home / "outbox.sqlite3"
    with read_only_folder(home, with_pending=2):
        first = run_send("while read-only")
        assert first.returncode == 0 and first.stdout.split() == ["delivered"], first.stderr
        assert "Traceback" not in first.stderr
        wait_until(lambda: len([m for m in inbox.messages if m["accepted"]]) == 3, what="the three messages")
        assert sorted(SentMarks(db).read().values()) == ["delivered", "delivered"]
        writable_again(home)
        inbox.clear()
        later = run_send("writable again")
        assert later.returncode == 0 and later.stdout.split() == ["delivered"], later.stderr
        with contextlib.suppress(TimeoutError):
            inbox.wait_for(2, timeout=2)
        assert ["writable again" in m["content"] for m in inbox.messages if m["accepted"]] == [True], inbox.messages
        with contextlib.closing(sqlite3.connect(db)) as con:
            rows = con.execute("SELECT status, reason FROM outbox ORDER BY id").fetchall()
    assert [r[0] for r in rows] == ["delivered"] * 3  # the two old ones, and the last (the other lived in memory)
    assert rows[0][1] == rows[1][1] == "settled while the outbox could not be written"
    assert not SentMarks(db).path.exists()


# -- a file damaged while the process runs ---------------------------------------------------------------------


def rows(db: Path) -> list[tuple[int, str, str]]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return [(r[0], r[1], json.loads(r[2])["title"]) for r in
                con.execute("SELECT id, status, notification FROM outbox ORDER BY id")]


def waiting_for_retry(db: Path) -> list[int]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return [r[0] for r in con.execute("SELECT id FROM outbox WHERE status='pending' AND attempts>=1")]


def test_an_outbox_damaged_while_the_kernel_runs_is_moved_aside_and_keeps_its_pending_message(ip, inbox, capsys):
    db = Path(os.environ["WXNOTIFY_HOME"]) / "outbox.sqlite3"
    ip.run_cell("%%wxnotify -t first\na = 1").raise_error()
    ip.run_cell("%wxnotify wait 30").raise_error()
    inbox.add_fault("status", service="wxpusher", status=503)  # the second waits for its retry, 2 s later
    ip.run_cell("%%wxnotify -t second\nb = 2").raise_error()
    wait_until(lambda: waiting_for_retry(db) == [2], what="the second to wait for its retry")
    original = b"damaged while the kernel runs \x00\xff" * 300
    db.write_bytes(original)
    ip.run_cell("%%wxnotify -t third\nc = 3").raise_error()
    ip.run_cell("%wxnotify wait 30").raise_error()
    ip.run_cell("%wxnotify").raise_error()
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    (aside,) = db.parent.glob("outbox.sqlite3.broken-*[0-9]")
    assert out.err.count("could not be read") == 1 and aside.name in out.err
    assert aside.read_bytes()[:4096] == original[:4096]  # kept (SQLite may have written its own pages since)
    def later() -> list[str] | None:  # the second (carried over) and the third, alone or merged into one
        contents = [m["content"] for m in inbox.messages if m["accepted"]][1:]
        return contents if any("second" in c for c in contents) and any("third" in c for c in contents) else None

    contents = wait_until(later, timeout=30, what="the second and the third")
    with contextlib.suppress(TimeoutError):  # let a duplicate arrive, if any
        inbox.wait_for(len(inbox.messages) + 1, timeout=2)
    assert later() == contents
    assert [c.count("second") for c in contents if "second" in c] == [1]
    assert [c.count("third") for c in contents if "third" in c] == [1]
    assert "outbox: 0 pending, 0 failed" in out.out or "outbox: 0 pending, 0 failed" in capsys.readouterr().out
    # the second keeps its id in the new file, and the third's is above any id given before: none is given twice
    found = wait_until(lambda: [(i, status) for i, status, _ in rows(db)] if len(rows(db)) == 2 else None)
    assert found[0] in ((2, "merged"), (2, "delivered")) and found[1][0] > 2 and found[1][1] == "delivered", found


B_PROCESS = textwrap.dedent("""
    import sys
    from wxnotify_magic.session import Session
    from wxnotify_magic.settings import WxNotify

    session = Session(WxNotify(wait=1.0))
    waiting = session.send("b waiting", to=[sys.argv[1]])  # the service answers 503: it waits for its retry
    print("sent", flush=True)
    sys.stdin.readline()  # meanwhile the file is damaged, and the other process sends
    after = session.send("b after", to=[sys.argv[1]])
    for receipt in (session.wait(waiting, 30), session.wait(after, 30)):
        print(receipt.status, receipt.reason, flush=True)
""")


def test_two_processes_keep_their_messages_and_ids_over_a_file_damaged_under_them(home, inbox):
    from wxnotify_magic.session import Session
    from wxnotify_magic.settings import WxNotify

    db = home / "outbox.sqlite3"
    here = Session(WxNotify(wait=10.0))
    assert here.wait(here.send("a first"), 10).ok
    inbox.add_fault("status", service="wecombot", status=503)
    other = subprocess.Popen([sys.executable, "-c", B_PROCESS, WECOM], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
    assert other.stdout is not None and other.stdin is not None
    try:
        assert other.stdout.readline().strip() == "sent"
        wait_until(lambda: waiting_for_retry(db) == [2], what="b to wait for its retry")
        db.write_bytes(b"damaged under two processes \x00\xff" * 300)
        mine = here.send("a after")
        other.stdin.write("go\n")
        other.stdin.flush()
        assert here.wait(mine, 30).ok
        out, err = other.communicate(timeout=60)
    finally:
        if other.poll() is None:
            other.kill()
    assert out.splitlines() == ["delivered ", "delivered "], (out, err)
    assert "Traceback" not in err
    accepted = [m["content"] for m in inbox.messages if m["accepted"]]
    for text in ("a first", "a after", "b waiting", "b after"):
        assert sum(text in c for c in accepted) == 1, (text, accepted)
    assert len(list(home.glob("outbox.sqlite3.broken-*[0-9]"))) == 1  # moved aside once, by one of them
    ids = [i for i, _, _ in rows(db)]
    assert len(ids) == len(set(ids)) == 3 and ids[0] == 2, ids  # b waiting kept its id; the others are new


def test_a_message_lost_with_a_damaged_outbox_is_reported_failed_with_the_reason(home, inbox, monkeypatch):
    """A message nobody can carry over (here: this process keeps none of its messages in memory) is not left
    waiting for ever, nor given another message's fate: its receipt says it was lost, and where the file is."""
    from wxnotify_magic import outbox
    from wxnotify_magic.session import Session
    from wxnotify_magic.settings import WxNotify

    monkeypatch.setattr(outbox, "MINE_KEPT", 0, raising=False)
    db = home / "outbox.sqlite3"
    session = Session(WxNotify(wait=10.0))
    assert session.wait(session.send("first"), 10).ok
    inbox.add_fault("status", service="wxpusher", status=503)
    lost = session.send("lost")
    wait_until(lambda: waiting_for_retry(db) == [2], what="it to wait for its retry")
    db.write_bytes(b"damaged \x00\xff" * 500)
    after = session.send("after")
    receipts = session.wait(lost, 30), session.wait(after, 30)
    (aside,) = home.glob("outbox.sqlite3.broken-*[0-9]")
    why = f"lost with the damaged outbox (kept as {aside.name})"
    assert (receipts[0].status, receipts[0].reason) == ("failed", why)
    assert receipts[1].ok
    assert [m["content"].startswith("after") for m in inbox.messages if m["accepted"]] == [False, True]


def test_notebooks_run_headless_over_an_unwritable_outbox_deliver_its_pending_message_once(
        tmp_path: Path, home: Path, inbox, monkeypatch) -> None:
    """Three headless notebook runs (each kernel ended by its runner, its watchdog taking over) over a home
    that cannot be written: the message pending in it reaches the service once, not once a run or more."""
    from nbclient import NotebookClient
    from nbformat.v4 import new_code_cell, new_notebook
    from test_handover import ImpatientManager

    monkeypatch.setenv("IPYTHONDIR", str(tmp_path / "ipython"))
    with read_only_folder(home, with_pending=1):
        for n in range(3):
            nb = new_notebook(cells=[new_code_cell("%load_ext wxnotify_magic"), new_code_cell(f"%wxsend run-{n}")])
            NotebookClient(nb, timeout=60, kernel_name="python3", kernel_manager_class=ImpatientManager).execute(
                cwd=str(tmp_path))
            wait_until(lambda n=n: any(f"run-{n}" in m["content"] for m in inbox.messages if m["accepted"]), 30)
        with contextlib.suppress(TimeoutError):  # a late copy, from a watchdog
            inbox.wait_for(len(inbox.messages) + 1, timeout=5)
        SentMarks(home / "outbox.sqlite3").remove()
    contents = [m["content"] for m in inbox.messages if m["accepted"]]
    copies = sum(c.startswith("### ✅ old 0 finished") for c in contents)
    assert copies == 1, f"the pending message reached the service {copies} times"
    assert [sum(f"run-{n}" in c for c in contents) for n in range(3)] == [1, 1, 1], contents
