"""The outbox degrades instead of failing: a corrupt, truncated or wrong-schema file
is moved aside and a new one started; when nothing can be written (a read-only folder, a full disk, a
WXNOTIFY_HOME that is a file) messages are delivered from memory, with one line saying so; a write lock held by
another process never holds a cell longer than ``wait``, and the message is written when the lock frees.
Never a traceback, never a lost message."""

from __future__ import annotations

import contextlib
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from conftest import WECOM_KEY, loaded, wait_until

from wxnotify_magic.message import Notification
from wxnotify_magic.outbox import Outbox
from wxnotify_magic.storage import SentMarks

MEMORY_NOTICE = "pending messages will not survive a restart"
WECOM = f"wecombot://{WECOM_KEY}"




@pytest.fixture(autouse=True)
def _forget_fates_kept_beside(tmp_path: Path) -> Iterator[None]:
    """An outbox that could not be written leaves what became of its items in the temporary folder: forget them
    with the test's home (``home`` is ``tmp_path / "wxhome"``)."""
    yield
    SentMarks(tmp_path / "wxhome" / "outbox.sqlite3").remove()


def statuses(db: Path) -> list[str]:
    with contextlib.closing(sqlite3.connect(db)) as con:
        return [r[0] for r in con.execute("SELECT status FROM outbox ORDER BY id")]


def outbox_with_items(path: Path, n: int) -> None:
    """A real outbox holding ``n`` pending items (large enough to span many pages), checkpointed and closed."""
    box = Outbox(path)
    for i in range(n):  # to n bots, so that they are not merged into one message
        note = Notification(status="success", title=f"old {i}", output="x" * 3000)
        box.add(provider="wecombot", dest_key=f"k{i}", dest_label="wecombot://…", dest_url=f"{WECOM}{i}",
                notification=note.to_dict())
    box._db().execute("PRAGMA wal_checkpoint(TRUNCATE)")
    box.close()


# -- 10a. a broken file is moved aside, kept, and a new one started --------------------------------------------


def garbage(path: Path) -> None:
    path.write_bytes(b"this is not a database \x00\xff" * 200)


def truncated(path: Path) -> None:
    outbox_with_items(path, 40)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 3])


def wrong_schema(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, what TEXT)")
        con.execute("PRAGMA user_version=2")
        con.commit()


def old_wrong_schema(path: Path) -> None:
    with contextlib.closing(sqlite3.connect(path)) as con:
        con.execute("CREATE TABLE outbox (id INTEGER PRIMARY KEY, what TEXT)")
        con.commit()


@pytest.mark.parametrize("damage", [garbage, truncated, wrong_schema, old_wrong_schema])
def test_a_broken_outbox_is_moved_aside_and_a_new_one_started(shell, home, inbox, capsys, damage):
    home.mkdir(parents=True)
    db = home / "outbox.sqlite3"
    damage(db)
    original = db.read_bytes()
    with loaded(shell) as ip:
        first = ip.run_cell("%%wxnotify\nx = 1")
        ip.run_cell("%wxnotify wait 30")  # sent before the next is queued (queued together they go out merged)
        second = ip.run_cell("%%wxnotify\ny = 2")
        ip.run_cell("%wxnotify wait 30")
        out = capsys.readouterr()
    assert first.success and second.success
    assert len(inbox.wait_for(2)) == 2
    assert "Traceback" not in out.out + out.err
    (aside,) = home.glob("outbox.sqlite3.broken-*[0-9]")
    assert out.err.count("could not be read") == 1 and aside.name in out.err
    assert aside.read_bytes() == original  # kept as it was
    assert wait_until(lambda: statuses(db) == ["delivered", "delivered"])


def test_an_outbox_of_schema_3_is_migrated_and_keeps_its_items(home, inbox):
    """Schema 4 records which digest carried a merged item; a file from before is migrated in place."""
    home.mkdir(parents=True)
    db = home / "outbox.sqlite3"
    outbox_with_items(db, 2)
    with contextlib.closing(sqlite3.connect(db)) as con:
        con.execute("ALTER TABLE outbox DROP COLUMN merged_into")
        con.execute("PRAGMA user_version=3")
        con.commit()
    box = Outbox(db)
    assert box.count("pending") == 2 and box.fates([1, 2]) == {}
    box.update(1, status="merged", merged_into=2)
    box.update(2, status="delivered")
    assert box.fates([1, 2]) == {1: ("merged", "", "k0"), 2: ("delivered", "", "k1")}
    box.close()


# -- 10b. nothing can be written: deliver from memory, say so once -------------------------------------------


def can_mount() -> bool:
    if os.geteuid() != 0 or not sys.platform.startswith("linux"):
        return False
    probe = Path(f"/tmp/wxnotify-mount-probe-{os.getpid()}")
    probe.mkdir(exist_ok=True)
    try:
        ok = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64k", "tmpfs", str(probe)],
                            capture_output=True).returncode == 0
        if ok:
            subprocess.run(["umount", str(probe)], capture_output=True)
        return ok
    finally:
        probe.rmdir()


MOUNTABLE = can_mount()


@contextlib.contextmanager
def tmpfs(path: Path, options: str) -> Iterator[Path]:
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", options, "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


def fill(folder: Path) -> None:
    with contextlib.suppress(OSError), open(folder / "filler", "wb", buffering=0) as fh:
        while True:
            fh.write(b"\0" * 4096)


@contextlib.contextmanager
def read_only_folder(path: Path, with_pending: int = 0) -> Iterator[Path]:
    """A folder this process cannot write (a read-only tmpfs as root, mode 0500 otherwise)."""
    if os.geteuid() != 0:
        path.mkdir(parents=True)
        if with_pending:
            outbox_with_items(path / "outbox.sqlite3", with_pending)
        path.chmod(0o500)
        try:
            yield path
        finally:
            path.chmod(0o700)
        return
    if not MOUNTABLE:
        pytest.skip("running as root without mount: cannot make a read-only folder")
    with tmpfs(path, "size=4m,mode=0700"):
        if with_pending:
            outbox_with_items(path / "outbox.sqlite3", with_pending)
        subprocess.run(["mount", "-o", "remount,ro", str(path)], check=True)
        yield path


def check_memory_delivery(shell: Any, inbox: Any, capsys: Any, expect: int = 2) -> None:
    with loaded(shell) as ip:
        results = [ip.run_cell("%%wxnotify\nx = 1"), ip.run_cell("%wxnotify wait 30"), ip.run_cell("%wxsend second")]
        out = capsys.readouterr()
    assert all(r.success for r in results)
    assert len([m for m in inbox.wait_for(expect, timeout=15) if m["accepted"]]) >= expect
    assert out.err.count(MEMORY_NOTICE) == 1, out.err
    assert "Traceback" not in out.out + out.err


def test_wxnotify_home_that_is_a_file_delivers_from_memory(shell, home, inbox, capsys):
    home.parent.mkdir(parents=True, exist_ok=True)
    home.write_text("not a folder")
    check_memory_delivery(shell, inbox, capsys)


def test_read_only_folder_delivers_from_memory(shell, home, inbox, capsys):
    with read_only_folder(home):
        check_memory_delivery(shell, inbox, capsys)


def test_pending_items_in_a_read_only_outbox_are_still_sent(shell, home, inbox, capsys):
    with read_only_folder(home, with_pending=3):
        with loaded(shell):
            contents = [m["content"] for m in inbox.wait_for(3, timeout=15)]
        out = capsys.readouterr()
    assert sorted(c.splitlines()[0] for c in contents) == [f"### ✅ old {i} finished" for i in range(3)]
    assert out.err.count(MEMORY_NOTICE) == 1 and "Traceback" not in out.err


@pytest.mark.skipif(not MOUNTABLE, reason="needs root and mount for a tiny tmpfs")
def test_a_full_disk_delivers_from_memory(shell, home, inbox, capsys):
    with tmpfs(home, "size=256k,mode=0700"), loaded(shell) as ip:
        ip.run_cell("%%wxnotify\nbefore = 1").raise_error()
        inbox.wait_for(1)
        fill(home)
        results = [ip.run_cell("%%wxnotify\nafter = 1"), ip.run_cell("%wxnotify wait 30"),
                   ip.run_cell("%wxsend still works")]
        out = capsys.readouterr()
    assert all(r.success for r in results)
    assert len(inbox.wait_for(3, timeout=15)) == 3
    assert out.err.count(MEMORY_NOTICE) == 1 and "Traceback" not in out.out + out.err


@pytest.mark.parametrize("when", ["from the start", "after the first message"])
def test_a_file_size_limit_delivers_from_memory(home, inbox, when):
    """A full disk simulated with RLIMIT_FSIZE (works without root): the CLI and send() keep delivering."""
    code = textwrap.dedent(f"""
        import os, resource, signal
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        from wxnotify_magic import send
        def limit():
            sizes = [os.path.getsize(os.path.join(home, f)) for f in os.listdir(home)] if os.path.isdir(home) else [0]
            resource.setrlimit(resource.RLIMIT_FSIZE, (max(sizes), max(sizes)))
        home = os.environ["WXNOTIFY_HOME"]
        if {when!r} == "from the start":
            limit()
        else:
            print(send("first", to={WECOM!r}, wait=10).status)
            limit()
        print(send("second", to={WECOM!r}, wait=10).status)
        print(send("third", to={WECOM!r}, wait=10).status)
    """)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=os.environ)
    assert proc.returncode == 0, proc.stderr
    assert set(proc.stdout.split()) == {"delivered"}
    assert proc.stderr.count(MEMORY_NOTICE) == 1 and "Traceback" not in proc.stderr
    assert len(inbox.wait_for(len(proc.stdout.split()))) == len(proc.stdout.split())


# -- 11. another process holds the write lock -----------------------------------------------------------------

HOLDER = textwrap.dedent("""
    import sqlite3, sys, time
    db = sqlite3.connect(sys.argv[1], isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("BEGIN IMMEDIATE")
    print("locked", flush=True)
    import select
    select.select([sys.stdin], [], [], float(sys.argv[2]))  # until told, or the time is up
    db.execute("COMMIT")
""")


def hold_lock(db: Path, seconds: float = 20.0) -> subprocess.Popen[str]:
    holder = subprocess.Popen([sys.executable, "-c", HOLDER, str(db), str(seconds)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "locked"
    return holder


def release(holder: subprocess.Popen[str]) -> None:
    assert holder.stdin is not None
    with contextlib.suppress(BrokenPipeError):
        holder.stdin.write("go\n")
        holder.stdin.close()
    holder.wait(10)


def test_a_locked_outbox_never_holds_the_cell_and_keeps_the_message(ip, inbox, capsys):
    ip.run_cell("%config WxNotify.wait = 0.5").raise_error()
    ip.run_cell("%%wxnotify\nwarm = 1").raise_error()  # the outbox exists
    inbox.wait_for(1)
    db = Path(os.environ["WXNOTIFY_HOME"]) / "outbox.sqlite3"
    holder = hold_lock(db)
    try:
        result = ip.run_cell("%%wxnotify -t 'while locked'\nx = 1")
        assert holder.poll() is None, "the cell waited for the other process to let go of the lock"
        assert result.success
        ip.run_cell("%wxnotify wait 0").raise_error()
        ip.run_cell("%wxnotify").raise_error()
        out = capsys.readouterr()
        assert "still sending" in out.out and "outbox: 1 pending" in out.out
        assert statuses(db) == ["delivered"]  # not written yet: the lock is still held
    finally:
        release(holder)
    assert [m["title"] for m in inbox.wait_for(2, timeout=30)][1].startswith("✅ while locked")
    assert wait_until(lambda: statuses(db) == ["delivered", "delivered"])


def test_a_held_lock_is_waited_for_once_not_by_every_message(home, inbox):
    from wxnotify_magic.session import Session
    from wxnotify_magic.settings import WxNotify

    session = Session(WxNotify(wait=2.0, to=[WECOM]))
    session.send("the outbox exists")
    db = home / "outbox.sqlite3"
    holder = hold_lock(db)
    try:
        started = time.monotonic()
        tickets = [session.send(f"while locked {i}") for i in range(5)]
        took = time.monotonic() - started
        assert holder.poll() is None
    finally:
        release(holder)
    assert took < 2 * 2.0, f"five messages waited {took:.1f} s for one lock episode"
    for ticket in tickets:
        assert session.wait(ticket, 30).ok
    wait_until(lambda: len(statuses(db)) == 6 and set(statuses(db)) <= {"delivered", "merged"})


def test_retry_under_a_held_lock_answers_in_one_line_within_its_wait(home, inbox):
    from wxnotify_magic import delivery

    delivery.get_sender().outbox.count("pending")  # create the outbox
    delivery.reset_sender()
    holder = hold_lock(home / "outbox.sqlite3", seconds=60)
    try:
        proc = subprocess.run([sys.executable, "-m", "wxnotify_magic.cli", "retry", "--wait", "1"],
                              capture_output=True, text=True, timeout=20, env=os.environ)
    finally:
        release(holder)
    assert proc.returncode == 1 and proc.stdout == ""
    assert proc.stderr.count("\n") == 1 and "locked by another process" in proc.stderr, proc.stderr


def test_a_lock_held_until_exit_still_delivers(home, inbox):
    """``wxnotify send`` while another process keeps the outbox locked all along: sent from memory at exit."""
    from wxnotify_magic import delivery

    delivery.get_sender().outbox.count("pending")  # create the outbox
    delivery.reset_sender()
    holder = hold_lock(home / "outbox.sqlite3", seconds=60)
    try:
        proc = subprocess.run([sys.executable, "-m", "wxnotify_magic.cli", "send", "locked all along", "--wait", "0.2",
                               "--to", WECOM], capture_output=True, text=True, timeout=60, env=os.environ)
    finally:
        release(holder)
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    assert "locked all along" in inbox.wait_for(1)[0]["content"]


