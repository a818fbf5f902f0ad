"""Shared fixtures: a real inbox on loopback, an isolated WXNOTIFY_HOME, and a real IPython shell."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

os.environ.setdefault("IPYTHONDIR", tempfile.mkdtemp(prefix="wxnotify-ipython-"))
if os.environ.get("PYTEST_XDIST_WORKER"):  # parallel workers: each its own IPython profile and history
    os.environ["IPYTHONDIR"] = f"{os.environ['IPYTHONDIR']}-{os.environ['PYTEST_XDIST_WORKER']}"
for _name in ("WXNOTIFY_TO", "WXNOTIFY_API_BASE", "WXNOTIFY_HOME", "LC_ALL", "LC_MESSAGES"):
    os.environ.pop(_name, None)
os.environ["LANG"] = "C.UTF-8"  # English unless a test chooses Chinese (WxNotify.lang = 'auto' reads the locale)
# A runner that starts the suite in the background without job control (nohup, a CI step's `cmd &`) leaves SIGINT
# ignored, and so would every script and kernel a test starts: the Ctrl-C tests need Python's own handler back
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)

from wxnotify_magic import delivery, i18n  # noqa: E402
from wxnotify_magic.inbox import Inbox  # noqa: E402

# Obviously fake tokens: the inbox accepts any well-shaped value, and rejects those containing "bad".
WX_TOKEN = "AT_test_token_0123456789abcdef"
WX_UID = "UID_test_user_0001"
WX_URL = f"wxpusher://{WX_TOKEN}/{WX_UID}"
WECOM_KEY = "test-wecom-key-0123456789"
SECRETS = (WX_TOKEN, WX_UID, WECOM_KEY)


@pytest.fixture(scope="session")
def inbox() -> Iterator[Inbox]:
    with Inbox() as box:
        yield box


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, inbox: Inbox) -> Iterator[Path]:
    """A fresh settings/state folder, endpoints pointed at the inbox, and a fresh sender."""
    folder = tmp_path / "wxhome"
    monkeypatch.setenv("WXNOTIFY_HOME", str(folder))
    monkeypatch.setenv("WXNOTIFY_API_BASE", inbox.url)
    monkeypatch.setenv("WXNOTIFY_TO", WX_URL)
    inbox.clear()
    delivery.reset_sender()
    yield folder
    i18n.set_language("auto")
    delivery.reset_sender()
    _wait_for_sender_threads()
    inbox.clear()


def _wait_for_sender_threads(timeout: float = 15.0) -> None:
    """A sender stopped mid-request finishes that request; let it, so it cannot land in the next test."""
    import threading

    for thread in threading.enumerate():
        if thread.name in ("wxnotify-sender", "wxnotify-send", "wxnotify-ping"):
            thread.join(timeout)


@pytest.fixture(scope="session")
def shell():  # type: ignore[no-untyped-def]
    from IPython import get_ipython
    from IPython.testing.globalipapp import start_ipython

    return start_ipython() or get_ipython()


@pytest.fixture
def ip(shell, home):  # type: ignore[no-untyped-def]
    """The real in-process IPython shell with the extension loaded; unloaded and reset afterwards."""
    shell.run_line_magic("load_ext", "wxnotify_magic")
    yield shell
    shell.run_line_magic("unload_ext", "wxnotify_magic")
    shell.run_line_magic("reset", "-f")
    shell.config.pop("WxNotify", None)  # %config writes into the shell's config too


def settled(inbox: Inbox) -> list[dict]:
    """The inbox's messages once this process's sender has nothing left to send (waits on its state, no sleep)."""
    sender = delivery.current_sender()
    if sender is not None:
        assert sender.flush(15), "the sender did not settle"
    return inbox.messages


def outbox_statuses(home: Path, timeout: float = 15.0) -> list[str]:
    """The statuses in the outbox under ``home`` once none is pending or sending (another process's sender)."""
    import sqlite3
    import time

    db = home / "outbox.sqlite3"
    deadline = time.monotonic() + timeout
    while True:
        statuses = []
        if db.exists():
            with sqlite3.connect(db) as con:
                statuses = [r[0] for r in con.execute("SELECT status FROM outbox ORDER BY id")]
        if not {"pending", "sending"} & set(statuses) or time.monotonic() > deadline:
            return statuses
        time.sleep(0.05)


def assert_no_secret(*texts: str) -> None:
    for text in texts:
        for secret in SECRETS:
            assert secret not in text, "a secret leaked into output"


def fact(content: str, label: str) -> str:
    """The value of a labelled fact in a message (text ``Label: v``, markdown ``- **Label**: v``, WeCom's
    markdown ``> **Label**: <font color="comment">v</font>``)."""
    for line in content.splitlines():
        for prefix in (f"{label}: ", f"- **{label}**: ", f"<b>{label}</b>: ", f"> **{label}**: "):
            if line.startswith(prefix):
                return re.sub(r"</?font[^>]*>", "", line[len(prefix):])
    raise AssertionError(f"no {label!r} in {content!r}")


def last_output(content: str) -> list[str]:
    """The lines of a message's last-output section (text or markdown)."""
    for head in ("**Last output**\n```\n", "-- Last output --\n"):
        if head in content:
            return content.split(head, 1)[1].split("\n```")[0].strip("\n").splitlines()
    raise AssertionError(f"no last output in {content!r}")


# -- shared helpers ------------------------------------------------------------------------------------------


class Clock:
    """A simulated clock, so retries and pacing need no sleeping."""

    def __init__(self) -> None:
        import time

        self.now = time.time()

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def sender(home: Path, clock: Clock) -> Iterator[delivery.Sender]:
    """A sender on the simulated clock, over the test's outbox; the test drives ``run_once()`` itself."""
    from wxnotify_magic.outbox import Outbox

    s = delivery.Sender(Outbox(home / "outbox.sqlite3"), clock=clock)
    s.start = lambda: True  # type: ignore[method-assign]
    yield s
    s.outbox.close()


def wait_until(check: Any, timeout: float = 30.0, what: str = "a condition") -> Any:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    import time

    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)


@contextlib.contextmanager
def loaded(shell: Any) -> Iterator[Any]:
    """The extension loaded on ``shell`` for the block, then unloaded with its config."""
    shell.run_line_magic("load_ext", "wxnotify_magic")
    try:
        yield shell
    finally:
        shell.run_line_magic("unload_ext", "wxnotify_magic")
        shell.config.pop("WxNotify", None)
