"""The ``wxnotify`` command line, run as a user runs it: a real process against the local inbox."""

from __future__ import annotations

import json
import os
import select
import shutil
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import IO, Any

import pytest
from conftest import WX_TOKEN, WX_URL, assert_no_secret, wait_until

CLI = [sys.executable, "-m", "wxnotify_magic.cli"]
PY = sys.executable


def wxnotify(*args: str, stdin: str | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    """Run ``wxnotify ARGS`` with the test's environment (inbox, home) plus ``env``; check for secrets."""
    proc = subprocess.run([*CLI, *args], capture_output=True, text=True, timeout=60, input=stdin,
                          env={**os.environ, **env})
    assert_no_secret(proc.stdout, proc.stderr)
    return proc


def start(*args: str, **kwargs: Any) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*CLI, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def read_until(stream: IO[bytes] | int, marker: bytes, timeout: float = 10.0) -> bytes:
    """Read from a pipe or fd until ``marker`` shows up (fails the test instead of hanging)."""
    fd = stream if isinstance(stream, int) else stream.fileno()
    seen, deadline = b"", time.monotonic() + timeout
    while marker not in seen:
        ready, _, _ = select.select([fd], [], [], max(0.0, deadline - time.monotonic()))
        assert ready, f"timed out waiting for {marker!r}; got {seen!r}"
        chunk = os.read(fd, 4096)
        assert chunk, f"stream closed before {marker!r}; got {seen!r}"
        seen += chunk
    return seen


def child(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


# -- help and usage -------------------------------------------------------------------------------------


def test_help_lists_every_command_and_exits_0() -> None:
    script = shutil.which("wxnotify", path=str(Path(sys.executable).parent))
    assert script, "the console script is installed with the package"
    proc = subprocess.run([script, "--help"], capture_output=True, text=True, timeout=30)
    assert proc.returncode == 0 and proc.stderr == ""
    for command in ("send", "test", "status", "retry", "inbox", "run"):
        assert f"    {command} " in proc.stdout
    run_help = wxnotify("run", "--help")
    assert run_help.returncode == 0 and "wxnotify run [options] -- CMD [ARGS ...]" in run_help.stdout


@pytest.mark.parametrize("args", [[], ["frobnicate"], ["run", "--after", "soon", "--", "true"],
                                  ["send", "x", "--bogus"]])
def test_usage_errors_exit_2(args: list[str]) -> None:
    proc = wxnotify(*args)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("usage: wxnotify") and "error:" in proc.stderr


def test_run_without_a_command_exits_2(home: Path) -> None:
    proc = wxnotify("run", "--")
    assert proc.returncode == 2 and proc.stderr.strip().splitlines() == [
        "wxnotify run: no command given (usage: wxnotify run [options] -- CMD [ARGS ...])"]


# -- send, test, status, retry --------------------------------------------------------------------------


def test_send_delivers_and_prints_the_status_line(home: Path, inbox: Any) -> None:
    proc = wxnotify("send", "backup done: 12 GB", "-t", "nightly")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("wxnotify: sent via WxPusher") and proc.stderr == ""
    [message] = inbox.messages
    assert message["title"] == "💬 nightly" and "backup done: 12 GB" in message["content"]


def test_send_reads_stdin_and_takes_to(home: Path, inbox: Any) -> None:
    proc = wxnotify("send", "-", "--to", WX_URL, stdin="from a pipe\n", WXNOTIFY_TO="")
    assert proc.returncode == 0, proc.stderr
    assert "from a pipe" in inbox.messages[0]["content"]


def test_send_reads_the_body_from_stdin_when_no_text_is_given_or_takes_b(home: Path, inbox: Any) -> None:
    assert wxnotify("send", "-t", "cron", stdin="piped body\n").returncode == 0
    assert wxnotify("send", "-b", "body option").returncode == 0
    assert [m["content"].count("piped body") + m["content"].count("body option") for m in inbox.messages] == [1, 1]
    for args, stdin in ((["send"], ""), (["send", "x", "-b", "y"], None)):
        proc = wxnotify(*args, stdin=stdin)
        assert proc.returncode == 2 and proc.stdout == ""
        [line] = proc.stderr.splitlines()
        assert line.startswith("wxnotify send: ") and ("nothing to send" in line or "give the message once" in line)
    assert len(inbox.messages) == 2


def test_send_refused_exits_1_with_the_reason(home: Path, inbox: Any) -> None:
    inbox.add_fault("code", service="wxpusher", code=1002)
    proc = wxnotify("send", "x", "--wait", "5")
    assert proc.returncode == 1 and proc.stdout == ""
    assert "failed (wxpusher://AT_…" in proc.stderr and "code 1002" in proc.stderr


def test_send_delivered_while_flushing_before_exit_exits_0(home: Path, inbox: Any) -> None:
    inbox.add_fault("delay", service="wxpusher", seconds=0.8)
    proc = wxnotify("send", "slow service", "--wait", "0.1")
    assert proc.returncode == 0, proc.stderr  # not delivered within the wait, but before exit: delivered
    assert proc.stdout.startswith("wxnotify: sent via WxPusher")
    assert inbox.messages and inbox.messages[0]["accepted"]


def test_send_not_delivered_exits_1_and_says_it_stays_queued(home: Path, inbox: Any) -> None:
    unreachable = "http://127.0.0.1:9"  # nothing listens there: connection refused, retried later
    proc = wxnotify("send", "nobody home", "--wait", "0.5", WXNOTIFY_API_BASE=unreachable)
    assert proc.returncode == 1 and proc.stdout == ""
    assert "not delivered within the wait (connection failed" in proc.stderr
    assert "it stays queued in the outbox (python -m wxnotify_magic retry sends it)" in proc.stderr
    assert "1 pending" in wxnotify("status", WXNOTIFY_API_BASE=unreachable).stdout
    queued = wxnotify("send", "later", "--no-wait", WXNOTIFY_API_BASE=unreachable)
    assert queued.returncode == 0 and "queued in the outbox" in queued.stdout
    assert wxnotify("retry").returncode == 0  # the inbox is reachable again: both go, merged into one digest
    assert [("nobody home" in m["content"], "later" in m["content"]) for m in inbox.messages] == [(True, True)]


def test_messages_merged_by_another_process_count_as_delivered(home: Path, inbox: Any) -> None:
    """Every process whose message went out in another process's digest exits 0 at once."""
    inbox.add_fault("delay", service="wxpusher", seconds=1.0)  # the first send is slow: the others queue behind
    first = start("send", "msg0", "--wait", "30", env=os.environ)
    wait_until(lambda: not inbox.faults, what="the first request")
    began = time.monotonic()
    procs = [start("send", f"msg{i}", "--wait", "30", env=os.environ) for i in range(1, 4)]
    outs = [(p.wait(60), *(s.decode() for s in p.communicate())) for p in (first, *procs)]
    assert time.monotonic() - began < 15, outs  # nobody sat out the 30 s wait
    assert [rc for rc, _, _ in outs] == [0, 0, 0, 0], outs
    assert all(out.startswith("wxnotify: sent via WxPusher") for _, out, _ in outs), outs
    assert any("merged" in out for _, out, _ in outs[1:]), outs  # a digest carried the others' messages
    delivered = "".join(m["content"] for m in inbox.messages if m["accepted"])
    assert [delivered.count(f"msg{i}") for i in range(4)] == [1, 1, 1, 1]


@pytest.mark.parametrize(("to", "env", "expected"), [
    (["--to", "wxpusher://AT_test_token_0123456789abcdef/not-a-uid"], {}, "not a valid UID"),
    (["--to", "team"], {}, "unknown destination name 'team'"),
    ([], {"WXNOTIFY_TO": ""}, "no destination configured"),
])
def test_bad_destination_is_one_line_and_exit_2(home: Path, inbox: Any, to: list[str], env: dict[str, str],
                                                expected: str) -> None:
    proc = wxnotify("send", "x", *to, **env)
    assert proc.returncode == 2 and proc.stdout == ""
    [line] = proc.stderr.splitlines()
    assert line.startswith("wxnotify send: ") and expected in line
    assert inbox.messages == []


def test_test_sends_a_test_message(home: Path, inbox: Any) -> None:
    proc = wxnotify("test")
    assert proc.returncode == 0 and "sent via " in proc.stdout
    assert inbox.messages[0]["title"] == "💬 wxnotify test"


def test_status_shows_redacted_destinations_and_counts(home: Path, inbox: Any) -> None:
    assert wxnotify("send", "one").returncode == 0
    proc = wxnotify("status")
    assert proc.returncode == 0
    assert "→ wxpusher://AT_…cdef/UID_… [WxPusher]" in proc.stdout and "UID UID_…: 1 of 500 today" in proc.stdout
    assert "default destinations from: env" in proc.stdout and "outbox: 0 pending, 0 failed" in proc.stdout


def test_retry_sends_failed_messages_again(home: Path, inbox: Any) -> None:
    inbox.add_fault("code", service="wxpusher", code=1002)
    assert wxnotify("send", "try me again", "--wait", "5").returncode == 1
    assert "1 failed" in wxnotify("status").stdout
    proc = wxnotify("retry")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "wxnotify: 1 failed message(s) queued again; 0 pending, 0 failed now"
    assert [m["accepted"] for m in inbox.messages] == [False, True]
    assert "try me again" in inbox.messages[1]["content"]


def test_retry_sends_failed_messages_after_another_process_ran(home: Path, inbox: Any) -> None:
    """Any later process prunes the lanes of failed tokens; retry still sends every message."""
    tokens = [f"AT_test_token_{i}123456789abcdef" for i in range(3)]
    for i, token in enumerate(tokens):
        inbox.add_fault("code", service="wxpusher", code=1001)
        assert wxnotify("send", f"important {i}", "--to", f"wxpusher://{token}/UID_test_user_0001").returncode == 1
    assert wxnotify("send", "other", "--to", "wxpusher://AT_test_token_other56789abcdef/UID_test_user_0001"
                    ).returncode == 0
    proc = wxnotify("retry", "--wait", "10")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "wxnotify: 3 failed message(s) queued again; 0 pending, 0 failed now"
    sent = [m["content"] for m in inbox.messages if m["accepted"]]
    assert [any(f"important {i}" in c for c in sent) for i in range(3)] == [True, True, True]
    assert "outbox: 0 pending, 0 failed" in wxnotify("status").stdout


def test_retry_exits_1_while_messages_still_fail(home: Path, inbox: Any) -> None:
    inbox.add_fault("code", service="wxpusher", code=1002, count=2)
    assert wxnotify("send", "x", "--wait", "5").returncode == 1
    proc = wxnotify("retry")
    assert proc.returncode == 1 and "0 pending, 1 failed now" in proc.stderr


def test_status_suggests_the_retry_command_of_the_command_line(home: Path, inbox: Any) -> None:
    inbox.add_fault("code", service="wxpusher", code=1002)
    assert wxnotify("send", "x").returncode == 1
    out = wxnotify("status").stdout
    assert "(python -m wxnotify_magic retry sends them again)" in out and "%wxnotify" not in out
    script = shutil.which("wxnotify", path=str(Path(sys.executable).parent))
    assert script
    out = subprocess.run([script, "status"], capture_output=True, text=True, timeout=60).stdout
    assert "(wxnotify retry sends them again)" in out


def test_run_start_sends_a_started_message(home: Path, inbox: Any) -> None:
    proc = wxnotify("run", "--start", "-t", "nightly etl", "--", *child("print('ok')"))
    assert proc.returncode == 0, proc.stderr
    assert [m["title"].split(" · ")[0] for m in inbox.messages] == ["🚀 nightly etl started",
                                                                     "✅ nightly etl finished"]


def test_other_ranks_do_not_send(home: Path, inbox: Any) -> None:
    proc = wxnotify("send", "x", RANK="2")
    assert proc.returncode == 0 and "not sent from rank 2" in proc.stdout
    assert wxnotify("send", "x", "--all-ranks", RANK="2").returncode == 0
    assert [m["title"] for m in inbox.messages] == ["💬 wxnotify [rank 2]"]


# -- run ------------------------------------------------------------------------------------------------


def test_run_streams_output_unchanged_and_sends_the_tail(home: Path, inbox: Any) -> None:
    raw = b"progress 10%\rprogress 100%\r\nbinary \xff\xfe ok\nlast line\n"
    cmd = child(f"""
        import sys
        sys.stdout.buffer.write({raw!r}); sys.stdout.flush()
        sys.stderr.write("a warning\\n")
    """)
    proc = subprocess.run([*CLI, "run", "--", *cmd], capture_output=True, timeout=60, env=os.environ)
    assert proc.returncode == 0
    assert proc.stdout == raw  # byte for byte; our status line goes to stderr
    err = proc.stderr.decode()
    assert err.startswith("a warning\n") and "wxnotify: sent via WxPusher" in err
    [message] = inbox.messages
    assert message["title"].startswith(f"✅ {PY} -c") and " finished · " in message["title"]
    content = message["content"]
    assert "progress 100%" in content and "progress 10%\r" not in content and "last line" in content
    assert "a warning" in content and "**Time**" in content


def test_run_passes_a_failing_exit_code_through(home: Path, inbox: Any) -> None:
    proc = wxnotify("run", "-t", "etl job", "--", *child("print('rows: 0'); raise SystemExit(3)"))
    assert proc.returncode == 3 and proc.stdout == "rows: 0\n"
    [message] = inbox.messages
    assert message["title"].startswith("❌ etl job failed · ")
    assert "exited with code 3" in message["content"] and "rows: 0" in message["content"]


def test_run_missing_executable_exits_127(home: Path, inbox: Any) -> None:
    proc = wxnotify("run", "--", "no-such-command-wxn", "--flag")
    assert proc.returncode == 127 and proc.stdout == ""
    lines = proc.stderr.splitlines()
    assert lines[0] == "wxnotify run: command not found: no-such-command-wxn"
    assert len(lines) == 2 and lines[1].startswith("wxnotify: sent via ")  # the failure is still reported
    [message] = inbox.messages
    assert message["title"].startswith("❌ no-such-command-wxn --flag failed")
    assert "command not found: no-such-command-wxn" in message["content"]


@pytest.mark.parametrize(("args", "env"), [(["--after", "1h"], {}), ([], {"RANK": "1"})])
def test_run_short_success_or_other_rank_sends_nothing_but_failures_do(
        home: Path, inbox: Any, args: list[str], env: dict[str, str]) -> None:
    assert wxnotify("run", *args, "--", PY, "-c", "pass", **env).returncode == 0
    assert inbox.messages == []  # the process has exited: anything it sent has arrived
    assert wxnotify("run", *args, "--", PY, "-c", "raise SystemExit(1)", **env).returncode == 1
    assert len(inbox.messages) == 1 and "failed" in inbox.messages[0]["title"]


def test_run_sigint_is_forwarded_and_reported_as_interrupted(home: Path, inbox: Any) -> None:
    cmd = child("""
        import time
        print("ready", flush=True)
        time.sleep(30)
    """)
    proc = start("run", "--", *cmd, start_new_session=True)  # no terminal: wxnotify must forward the signal
    try:
        read_until(proc.stdout, b"ready")  # type: ignore[arg-type]
        started = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=20)
    finally:
        proc.kill()
    assert proc.returncode == 130 and time.monotonic() - started < 10
    assert b"KeyboardInterrupt" in err  # the command itself got the SIGINT
    assert_no_secret(err.decode())
    [message] = inbox.messages
    assert " interrupted · " in message["title"] and "ready" in message["content"]


def test_run_never_splices_a_stderr_line_into_an_unfinished_stdout_line(home: Path, inbox: Any) -> None:
    """``print`` writes a line's end apart from its text: a traceback on stderr coming in between once made the
    message take the whole output for the traceback the terminal showed, and drop it."""
    cmd = child("""
        import sys, time
        sys.stdout.write("ready"); sys.stdout.flush(); time.sleep(0.3)
        sys.stderr.write("Traceback (most recent call last):\\nValueError: bad\\n"); sys.stderr.flush()
        time.sleep(0.3)
        sys.stdout.write("\\n"); sys.stdout.flush()
        sys.exit(1)
    """)
    proc = start("run", "--", *cmd)
    proc.communicate(timeout=60)
    [message] = inbox.messages
    assert "ready\nTraceback (most recent call last):" in message["content"], message["content"]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="uses a Linux pseudo-terminal")
def test_ctrl_c_in_a_terminal_reaches_the_command_once(home: Path, inbox: Any) -> None:
    """Ctrl-C typed in a terminal goes to the whole foreground group: wxnotify must not send it again."""
    import pty

    cmd = child("""
        import signal, sys, time
        hits = []
        signal.signal(signal.SIGINT, lambda *_: hits.append(1))
        print("ready", flush=True)
        deadline = time.monotonic() + 10
        while not hits and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.3)  # a forwarded duplicate would arrive now
        print("SIGINTs:", len(hits), flush=True)
    """)
    take_terminal = ("import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); "
                     "os.execv(sys.argv[1], sys.argv[1:])")
    master, slave = pty.openpty()
    proc = subprocess.Popen([PY, "-c", take_terminal, *CLI, "run", "--", *cmd], stdin=slave, stdout=slave,
                            stderr=slave, start_new_session=True)
    os.close(slave)
    try:
        read_until(master, b"ready")
        os.write(master, b"\x03")  # what the Ctrl-C key sends
        out = read_until(master, b"wxnotify: ")
        assert proc.wait(timeout=20) == 0
    finally:
        proc.kill()
        os.close(master)
    assert b"SIGINTs: 1" in out
    assert " interrupted · " in inbox.wait_for(1)[0]["title"]


# -- inbox ----------------------------------------------------------------------------------------------


def test_inbox_command_serves_until_interrupted() -> None:
    proc = start("inbox", "--port", "0", "--quiet")
    try:
        banner = read_until(proc.stdout, b"\n").decode()  # type: ignore[arg-type]
        url = banner.split("listening on ", 1)[1].split()[0]
        with urllib.request.urlopen(url + "/_inbox/health", timeout=5) as response:
            assert json.load(response) == {"ok": True}
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        proc.kill()
        proc.communicate()
    assert WX_TOKEN not in banner


def test_usage_errors_and_help_speak_chinese_under_a_chinese_locale(home: Path) -> None:
    zh = {"LANG": "zh_CN.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}
    bad = wxnotify("send", "--bogus", "hi", **zh)
    assert bad.returncode == 2 and "wxnotify：错误：无法识别的参数：--bogus" in bad.stderr, bad.stderr
    stall = wxnotify("run", "--stall", "abc", "--", "true", **zh)
    assert stall.returncode == 2 and "参数 --stall：" in stall.stderr and "error" not in stall.stderr
    assert "位置参数：" in wxnotify("--help", **zh).stdout
    english = wxnotify("send", "--bogus", "hi", LANG="C.UTF-8", LC_ALL="", LC_MESSAGES="")
    assert "wxnotify: error: unrecognized arguments: --bogus" in english.stderr


def test_concurrent_config_adds_all_land_and_removing_an_unknown_name_says_so(home: Path) -> None:
    procs = [subprocess.Popen([*CLI, "config", "add", f"n{i}", "--no-default"], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ)
             for i in range(10)]
    for i, proc in enumerate(procs):
        out, err = proc.communicate(f"wxpusher://{WX_TOKEN}/UID_test_{i:04d}\n", timeout=60)
        assert proc.returncode == 0 and "saved" in out and "Warning" not in err, err
        assert_no_secret(out, err)
    saved = json.loads((home / "settings.json").read_text(encoding="utf-8"))["destinations"]
    assert sorted(saved) == sorted(f"n{i}" for i in range(10))
    gone = wxnotify("config", "remove", "nope")
    assert gone.returncode == 2 and "no destination named nope is saved" in gone.stderr
    assert wxnotify("config", "remove", "n3").returncode == 0
    assert "n3" not in json.loads((home / "settings.json").read_text(encoding="utf-8"))["destinations"]
