"""The last word survives the kernel: what a kernel leaves queued when its manager kills it is delivered after."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from conftest import WX_URL, outbox_statuses, wait_until
from jupyter_client import KernelManager
from nbclient import NotebookClient
from nbformat.v4 import new_code_cell, new_notebook
from traitlets import Float

from wxnotify_magic.inbox import Inbox

pytestmark = pytest.mark.skipif(not Path("/proc/self").is_dir(), reason="the watchdog needs POSIX and /proc")


class ImpatientManager(KernelManager):
    """As a headless run ends: a shutdown request, and SIGTERM 2.5 s later if the kernel has not ended."""

    shutdown_wait_time = Float(2.5)


def accepted(inbox: Inbox, marker: str) -> list[dict]:
    return [m for m in inbox.messages if m["accepted"] and marker in m["content"]]


def test_a_notebook_run_headless_delivers_its_last_message_after_the_kernel_is_killed(
        tmp_path: Path, inbox: Inbox, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "wxhome"
    for name, value in (("WXNOTIFY_HOME", str(home)), ("WXNOTIFY_API_BASE", inbox.url), ("WXNOTIFY_TO", WX_URL),
                        ("IPYTHONDIR", str(tmp_path / "ipython"))):
        monkeypatch.setenv(name, value)
    inbox.clear()
    inbox.add_fault("status", status=500, count=2)  # a 3-second hiccup of the service at the end of the run
    nb = new_notebook(cells=[new_code_cell("%load_ext wxnotify_magic"), new_code_cell("%wxsend the-last-word")])
    NotebookClient(nb, timeout=60, kernel_name="python3", kernel_manager_class=ImpatientManager).execute(
        cwd=str(tmp_path))  # as nbclient, papermill and nbconvert run a notebook: the kernel ends with the run
    ended_at = time.time()
    wait_until(lambda: accepted(inbox, "the-last-word"), 60, "the last message, delivered after the kernel ended")
    print("messages (accepted, seconds after the kernel ended):",
          [(m["accepted"], round(m["time"] - ended_at, 2)) for m in inbox.messages])
    assert outbox_statuses(home) == ["delivered"]
    assert len(accepted(inbox, "the-last-word")) == 1, "delivered more than once"
