"""``wxnotify run`` at the edges: closed or broken output, signals that reach the whole process group, the order
of stdout and stderr, and the command's own peak memory."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from test_cli import CLI, PY

pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="process groups and /proc")


def child(code: str) -> list[str]:
    return [PY, "-c", textwrap.dedent(code)]


def test_run_with_stdout_closed_drains_drops_and_notifies(home: Path, inbox: Any) -> None:
    cmd = ["sh", "-c", "head -c 1000000 /dev/zero; echo finished-here >&2; echo out-tail"]
    proc = subprocess.run([*CLI, "run", "--", *cmd], stdout=None, stderr=subprocess.PIPE, timeout=30,
                          close_fds=True, pass_fds=(), preexec_fn=lambda: os.close(1))
    err = proc.stderr.decode()
    assert proc.returncode == 0, err
    assert "Traceback" not in err and "Exception" not in err
    assert "finished-here" in err
    [message] = inbox.messages
    assert " finished · " in message["title"] and "out-tail" in message["content"]


def test_run_with_stderr_closed_still_works(home: Path, inbox: Any) -> None:
    cmd = ["sh", "-c", "head -c 200000 /dev/zero >&2; echo visible"]
    proc = subprocess.run([*CLI, "run", "--", *cmd], stdout=subprocess.PIPE, timeout=30,
                          preexec_fn=lambda: os.close(2))
    assert proc.returncode == 0 and proc.stdout == b"visible\n"
    assert len(inbox.messages) == 1


def test_run_ends_when_its_stdout_pipe_breaks(home: Path, inbox: Any) -> None:
    """`wxnotify run -- yes | head -1`: the command gets SIGPIPE as it would without wxnotify, and a command
    ended by its reader closing the pipe is no failure: the message says it finished."""
    shell = subprocess.Popen(["sh", "-c", f"{' '.join(CLI)} run -- yes | head -1"], stdout=subprocess.PIPE,
                             stderr=subprocess.PIPE, start_new_session=True)
    try:
        out, err = shell.communicate(timeout=30)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(shell.pid, signal.SIGKILL)  # never leave `yes` running, whatever happened
    proc = subprocess.CompletedProcess(shell.args, shell.returncode, out, err)
    assert proc.stdout == b"y\n"
    assert "Traceback" not in proc.stderr.decode()
    assert "SIGPIPE" not in proc.stderr.decode()
    [message] = inbox.messages
    assert message["title"].startswith("✅ yes") and "SIGPIPE" not in message["content"], message


def test_run_keeps_the_order_of_stdout_and_stderr_into_one_file(home: Path, inbox: Any, tmp_path: Path) -> None:
    cmd = child("""
        import os
        for i in range(200):
            os.write(1, b"out %d\\n" % i)
            os.write(2, b"err %d\\n" % i)
    """)
    log = tmp_path / "log"
    with log.open("wb") as f:
        proc = subprocess.run([*CLI, "run", "--quiet", "--", *cmd], stdout=f, stderr=subprocess.STDOUT, timeout=30)
    assert proc.returncode == 0
    expected = "".join(f"out {i}\nerr {i}\n" for i in range(200))
    assert log.read_text() == expected


def peak_of(message: dict[str, Any]) -> float | None:
    """The peak memory of the message in MiB, or None when it gives none."""
    found = re.search(r"Peak memory\**[:|\s]*([\d.]+) (KiB|MiB|GiB|B)", message["content"])
    if not found:
        return None
    scale = {"B": 1 / 2**20, "KiB": 1 / 1024, "MiB": 1, "GiB": 1024}[found.group(2)]
    return float(found.group(1)) * scale


def test_run_reports_the_commands_own_peak_memory(home: Path, inbox: Any) -> None:
    assert subprocess.run([*CLI, "run", "--", "sh", "-c", "sleep 1.5; exit 1"], capture_output=True,
                          timeout=30).returncode == 1
    small = peak_of(inbox.messages[0])
    assert small is not None and small < 10, inbox.messages[0]["content"]  # sh is ~1 MiB, wxnotify ~25 MiB
    big = child("""
        import sys
        block = bytearray(120 * 2**20)
        for i in range(0, len(block), 4096):
            block[i] = 1
        sys.exit(2)
    """)
    assert subprocess.run([*CLI, "run", "--", *big], capture_output=True, timeout=30).returncode == 2
    peak = peak_of(inbox.messages[1])
    assert peak is not None and 120 <= peak < 200, inbox.messages[1]["content"]
